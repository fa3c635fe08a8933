/**
 * What model calls cost, from Anthropic's published list prices. The table is dated: prices
 * change, so it says when it was taken, and `agentAudit.modelPrices` (a user setting) overrides
 * or adds models. A model in neither shows tokens only: never a made-up price.
 */

/** US dollars per million tokens. Cache writes are the 5-minute cache's price. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

/** When the table below was taken from Anthropic's pricing page. */
export const PRICES_AS_OF = "2025-11-24";

/** By model id; a dated id (claude-sonnet-4-5-20250929) or a -latest alias matches its model. */
export const PRICE_TABLE: Record<string, ModelPrice> = {
  "claude-opus-4-5": { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  "claude-opus-4-1": { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 },
  "claude-opus-4": { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 },
  "claude-sonnet-4-5": { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  "claude-sonnet-4": { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  "claude-3-7-sonnet": { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  "claude-haiku-4-5": { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cacheWrite: 1, cacheRead: 0.08 },
  "claude-3-haiku": { input: 0.25, output: 1.25, cacheWrite: 0.3, cacheRead: 0.03 },
};

export interface TokenUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export interface Pricing {
  /** The price of a model, or undefined when neither the table nor the settings know it. */
  priceOf(modelId: string | null | undefined): (ModelPrice & { source: string }) | undefined;
}

/** A pricing from the table and the user's overrides (same shape and matching, by model id). */
export function pricing(overrides: Record<string, unknown> = {}): Pricing {
  const valid = Object.entries(overrides).filter((e): e is [string, ModelPrice] => isPrice(e[1]));
  const entries: [string, ModelPrice, string][] = [
    ...valid.map(([k, v]): [string, ModelPrice, string] => [k, v, "your agentAudit.modelPrices setting"]),
    ...Object.entries(PRICE_TABLE).map(([k, v]): [string, ModelPrice, string] => [k, v, `list prices as of ${PRICES_AS_OF}`]),
  ];
  return {
    priceOf(modelId) {
      if (!modelId) return undefined;
      // Exactly the model, or the model with a date or "latest": claude-sonnet-4-50 is not
      // claude-sonnet-4. Settings come first, so they win over the table.
      const base = modelId.replace(/-(\d{8}|latest)$/, "");
      const hit = entries.find((e) => e[0] === modelId || e[0] === base);
      return hit && { ...hit[1], source: hit[2] };
    },
  };
}

function isPrice(v: unknown): v is ModelPrice {
  if (!v || typeof v !== "object") return false;
  const p = v as Record<string, unknown>;
  return ["input", "output", "cacheWrite", "cacheRead"].every((k) => typeof p[k] === "number" && Number.isFinite(p[k]) && (p[k] as number) >= 0);
}

/** Dollars for one call's usage: input, output, cache writes and cache reads each at its price. */
export function costOf(usage: TokenUsage, price: ModelPrice): number {
  const n = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return (
    (n(usage.input_tokens) * price.input +
      n(usage.output_tokens) * price.output +
      n(usage.cache_creation_input_tokens) * price.cacheWrite +
      n(usage.cache_read_input_tokens) * price.cacheRead) /
    1_000_000
  );
}

/** "$0.0042", "$0.53", "$12.40". */
export function formatUsd(dollars: number): string {
  if (dollars === 0) return "$0.00";
  if (dollars < 0.01) return `$${dollars.toFixed(4)}`;
  if (dollars < 1) return `$${dollars.toFixed(3)}`;
  return `$${dollars.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}
