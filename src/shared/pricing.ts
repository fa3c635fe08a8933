/**
 * What model calls cost, from a maintained price database (`@pydantic/genai-prices`: Anthropic,
 * OpenAI, Google and other providers, with historic prices and long-context tiers), so that a
 * call is priced as of its own date and the models the agents we record use are known without
 * a table of ours going stale. `agentAudit.modelPrices` (a user setting) overrides or adds
 * models. A model in neither shows tokens only: never a made-up price. Nothing is fetched: the
 * data is the package's, bundled.
 */
import { calcPrice, extractUsage, findProvider } from "@pydantic/genai-prices";
import type { Provider } from "@pydantic/genai-prices";
/** US dollars per million tokens. Cache writes are the 5-minute cache's price. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
  /** The exact cost of one call's usage where flat per-token prices do not tell it (long-context tiers). */
  cost?: (usage: TokenUsage) => number;
}

/** The version of the price data (the package's), named in every price's source. */
export const PRICE_DATA = "genai-prices 0.1.8";

export interface TokenUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export interface Pricing {
  /** The price of a model at `at` (an ISO time, default now), or undefined when neither the data nor the settings know it. */
  priceOf(modelId: string | null | undefined, at?: string): (ModelPrice & { source: string }) | undefined;
}

const n = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);

/** A pricing from the price data and the user's overrides (by model id, a date or -latest suffix allowed). */
export function pricing(overrides: Record<string, unknown> = {}): Pricing {
  const valid = Object.entries(overrides).filter((e): e is [string, ModelPrice] => isPrice(e[1]));
  const cache = new Map<string, (ModelPrice & { source: string }) | undefined>();
  return {
    priceOf(modelId, at) {
      if (!modelId) return undefined;
      // Settings first, so they win: exactly the model, or the model with a date or "latest"
      // (claude-sonnet-4-50 is not claude-sonnet-4).
      const base = modelId.replace(/-(\d{8}|latest)$/, "");
      const own = valid.find(([k]) => k === modelId || k === base);
      if (own) return { ...own[1], source: "your agentAudit.modelPrices setting" };
      const when = at && !Number.isNaN(Date.parse(at)) ? new Date(at) : new Date();
      const key = `${modelId}\n${when.toISOString().slice(0, 10)}`;
      if (!cache.has(key)) cache.set(key, fromPriceData(modelId, when));
      return cache.get(key);
    },
  };
}

/** Anthropic's usage fields as the price data counts them (input includes the cached parts, priced apart). */
function asUsage(u: TokenUsage, provider: Provider | undefined) {
  const raw = { model: "", usage: { input_tokens: n(u.input_tokens), output_tokens: n(u.output_tokens), cache_read_input_tokens: n(u.cache_read_input_tokens), cache_creation_input_tokens: n(u.cache_creation_input_tokens) } };
  if (provider?.id === "anthropic") {
    try {
      return extractUsage(provider, raw, "default").usage;
    } catch {
      // fall through to the plain mapping
    }
  }
  return { input_tokens: raw.usage.input_tokens + raw.usage.cache_read_input_tokens + raw.usage.cache_creation_input_tokens, output_tokens: raw.usage.output_tokens, cache_read_tokens: raw.usage.cache_read_input_tokens, cache_write_tokens: raw.usage.cache_creation_input_tokens };
}

function fromPriceData(modelId: string, when: Date): (ModelPrice & { source: string }) | undefined {
  const provider = findProvider({ modelId });
  const price = (u: TokenUsage): number | undefined => {
    try {
      return calcPrice(asUsage(u, provider), modelId, { timestamp: when, ...(provider ? { provider } : {}) })?.total_price;
    } catch {
      return undefined;
    }
  };
  // Per million tokens, from a call of a thousand: small enough to stay below every long-context tier.
  const perM = (u: TokenUsage) => {
    const p = price(u);
    return p === undefined ? undefined : p * 1000;
  };
  const input = perM({ input_tokens: 1000 });
  if (input === undefined) return undefined;
  const flat = { input, output: perM({ output_tokens: 1000 }) ?? 0, cacheWrite: perM({ cache_creation_input_tokens: 1000 }) ?? 0, cacheRead: perM({ cache_read_input_tokens: 1000 }) ?? 0 };
  return { ...flat, cost: (u) => price(u) ?? flatCost(u, flat), source: `${PRICE_DATA} (${provider?.name ?? "list"} prices as of ${when.toISOString().slice(0, 10)})` };
}

function isPrice(v: unknown): v is ModelPrice {
  if (!v || typeof v !== "object") return false;
  const p = v as Record<string, unknown>;
  return ["input", "output", "cacheWrite", "cacheRead"].every((k) => typeof p[k] === "number" && Number.isFinite(p[k]) && (p[k] as number) >= 0);
}

function flatCost(usage: TokenUsage, price: ModelPrice): number {
  return (n(usage.input_tokens) * price.input + n(usage.output_tokens) * price.output + n(usage.cache_creation_input_tokens) * price.cacheWrite + n(usage.cache_read_input_tokens) * price.cacheRead) / 1_000_000;
}

/** Dollars for one call's usage: input, output, cache writes and cache reads each at its price (tiers where the data has them). */
export function costOf(usage: TokenUsage, price: ModelPrice): number {
  return price.cost ? price.cost(usage) : flatCost(usage, price);
}
