import { inputSummary } from "./inputSummary";

/** One session's side of a step: its tool calls. */
interface StepText {
  tools: { name: string; input: unknown; outcome: string; errorType: string | null }[];
}

/**
 * What the text shows of a session diff (src/trail/reading/sessionDiff.ts makes one). Said here, not
 * imported: the trail builds on shared code, so shared code does not build on the trail.
 */
export interface DiffText {
  a: { session_id: string; status: string };
  b: { session_id: string; status: string };
  rows: { step: number; same: boolean; differences: string[]; a?: StepText; b?: StepText }[];
  firstDivergence?: number;
}

/** Two sessions side by side as plain text, aligned by step, the first divergence marked ▶. */
export function renderSessionDiff(d: DiffText): string {
  const side = (s: StepText | undefined) =>
    s
      ? s.tools.map((t) => `${t.name} ${inputSummary(t.name, t.input, 28)} ${t.outcome === "error" ? `✖ ${t.errorType}` : t.outcome === "success" ? "✔" : "…"}`).join("; ") || "(answer)"
      : "—";
  const rows = [["", "STEP", `A ${d.a.session_id.slice(0, 8)} (${d.a.status})`, `B ${d.b.session_id.slice(0, 8)} (${d.b.status})`]];
  for (const r of d.rows) rows.push([r.step === d.firstDivergence ? "▶" : r.same ? " " : "≠", String(r.step), side(r.a), side(r.b)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  "));
  lines.push(
    "",
    d.firstDivergence
      ? `First divergence: step ${d.firstDivergence}: ${d.rows[d.firstDivergence - 1].differences.join("; ")}`
      : "The sessions made the same tool calls with the same outcomes.",
  );
  return lines.join("\n");
}
