import type { SessionDiff, StepSide } from "../trail/sessionDiff";
import { inputSummary } from "./inputSummary";

/** Two sessions side by side as plain text, aligned by step, the first divergence marked ▶. */
export function renderSessionDiff(d: SessionDiff): string {
  const side = (s: StepSide | undefined) =>
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
