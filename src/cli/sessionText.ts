import type { SessionSummary, TrailEventRow } from "../trail/trailQueries";
import { inputSummary } from "../shared/inputSummary";
import { content, firstLine, formatMs, formatTokens } from "./textFormat";

/** A session step by step, as `agent-audit show` prints it. */
export function renderSession(s: SessionSummary, events: TrailEventRow[]): string {
  const out: string[] = [];
  out.push(`Session ${s.session_id}`);
  out.push(`  task:    ${firstLine(s.task, 100)}`);
  out.push(`  status:  ${s.status}   steps: ${s.steps}   tokens: ${formatTokens(s.input_tokens)} in / ${formatTokens(s.output_tokens)} out   failed tool calls: ${s.failed_tool_calls}`);
  out.push(`  model:   ${s.model_id ?? "–"}   agent: ${s.agent_id}   started: ${s.started_at}${s.ended_at ? `   ended: ${s.ended_at}` : ""}`);
  let step = -1;
  for (const e of events) {
    const c = content(e);
    if (e.step_number !== step && e.step_number > 0) {
      step = e.step_number;
      out.push("", `Step ${step}`);
    }
    out.push(...renderEvent(e, c));
  }
  return out.join("\n");
}

/** One event as a few indented lines. */
export function renderEvent(e: TrailEventRow, c: Record<string, any>): string[] {
  const lines: string[] = [];
  switch (e.event_type) {
    case "session_start":
      break;
    case "llm_call": {
      lines.push(`  model call  ${formatMs(e.latency_ms)}  ${formatTokens(e.input_tokens)} in / ${formatTokens(e.output_tokens)} out${c.retries ? `  (${c.retries} retries)` : ""}`);
      for (const b of c.response?.content ?? []) {
        if (b.type === "thinking") lines.push(`    thinking: ${firstLine(b.thinking, 100)}`);
        if (b.type === "text" && b.text.trim()) lines.push(`    says: ${firstLine(b.text, 100)}`);
      }
      break;
    }
    case "tool_call":
      lines.push(`  → ${c.tool_name} ${inputSummary(c.tool_name, c.input ?? c.raw_input)}${c.requires_approval ? "  [needs approval]" : ""}`);
      break;
    case "approval":
      lines.push(`    ${c.decision} by ${c.approver_id}`);
      break;
    case "tool_result":
    case "tool_retry":
      if (c.replay?.diverged) lines.push(`    ≠ differs from the recording (then: ${c.replay.recorded_error_type ?? c.replay.recorded_outcome})`);
      if (c.outcome === "success") {
        lines.push(`    ✔ ${e.event_type === "tool_retry" ? "retry " : ""}ok  ${formatMs(e.execution_time_ms)}  ${firstLine(c.output, 80)}`);
      } else {
        lines.push(`    ✖ ${c.error?.type}: ${firstLine(c.error?.message, 100)}  ${formatMs(e.execution_time_ms)}`);
        const d = c.error?.detail ?? {};
        if (d.exit_code !== undefined) lines.push(`      exit code ${d.exit_code}`);
        if (d.stderr) lines.push(...String(d.stderr).trim().split("\n").slice(0, 5).map((l: string) => `      stderr: ${l}`));
      }
      break;
    case "session_end":
      lines.push("", `Finished: ${firstLine(c.final_text, 200)}`);
      break;
    case "session_timeout":
    case "session_cancelled":
      lines.push("", `${e.event_type === "session_timeout" ? "Timed out" : "Cancelled"}: ${c.message}`);
      break;
    case "session_error":
      lines.push("", `Error: ${c.error?.message}`);
      break;
    case "replay_diverged":
      lines.push("", `Replay diverged: ${c.message}`);
      break;
    default:
      lines.push(`  ${e.event_type}`);
  }
  return lines;
}
