import type { TrailEventRow } from "../trail/reading/trailQueries";

/** First line of a text, cut to `max` characters. */
export function firstLine(text: string | null | undefined, max = 60): string {
  const line = (text ?? "").split("\n")[0];
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}

export function formatTokens(n: number | null | undefined): string {
  return (n ?? 0).toLocaleString("en-US");
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Padding that ignores nothing fancy: our tables hold plain text. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ")).join("\n");
}

export function content(e: TrailEventRow): Record<string, any> {
  return JSON.parse(e.content);
}
