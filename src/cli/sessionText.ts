import type { SessionSummary, TrailEventRow } from "../trail/reading/trailQueries";
import { inputSummary } from "../shared/inputSummary";
import { TERMINAL_EVENT_TYPES } from "../trail/store/eventTypes";
import { plural } from "../shared/plural";
import { content, firstLine, formatMs, formatTokens } from "./textFormat";

/** A session step by step, as `agent-audit show` prints it. */
export function renderSession(s: SessionSummary, events: TrailEventRow[]): string {
  const out: string[] = [];
  out.push(`Session ${s.session_id}`);
  // The whole task: an auditor reads what the agent was asked, not its first 100 characters.
  const task = (s.task ?? "").trim().split("\n");
  out.push(`  task:    ${task[0] || "(no task recorded)"}`, ...task.slice(1).map((l) => `           ${l}`));
  out.push(`  status:  ${s.status}   steps: ${s.steps}   tokens: ${formatTokens(s.input_tokens)} in / ${formatTokens(s.output_tokens)} out   failed tool calls: ${s.failed_tool_calls}`);
  out.push(`  model:   ${s.model_id ?? "–"}   agent: ${s.agent_id}   started: ${s.started_at}${s.ended_at ? `   ended: ${s.ended_at}` : ""}`);
  const received = events.map((e) => content(e).received).find((r) => r && typeof r === "object");
  if (received) {
    const how = received.via === "claude-code-hook" || received.via === "claude-code-transcript" ? "recorded through Claude Code's hooks and transcript" : `received over OTLP from ${firstLine(String(received.service ?? s.agent_id), 60)}`;
    out.push(`  ${how}: not recorded by Agent Audit's own agent; times are the sender's, received ${received.received_at ?? "(time not kept)"}`);
  }
  let step = -1;
  for (const e of events) {
    const c = content(e);
    // A session's end is printed under the last step that ran, never as a step of its own.
    if (e.step_number !== step && e.step_number > 0 && !(TERMINAL_EVENT_TYPES.includes(e.event_type) && step > 0)) {
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
      if (isReplayedAnswer(c)) lines.push("  recorded answer (replay: no model call)");
      else lines.push(`  model call  ${formatMs(e.latency_ms)}  ${formatTokens(e.input_tokens)} in / ${formatTokens(e.output_tokens)} out${c.retries ? `  (${plural(c.retries, "retry", "retries")})` : ""}`);
      for (const b of c.response?.content ?? []) {
        if (b.type === "thinking") lines.push(`    thinking: ${firstLine(b.thinking, 100)}`);
        if (b.type === "text" && b.text.trim()) lines.push(`    says: ${firstLine(b.text, 100)}`);
      }
      break;
    }
    case "tool_call":
      // A received or hooked call may come without its input: say so rather than print "null".
      lines.push(`  → ${c.tool_name ?? "(tool not named)"} ${(c.input ?? c.raw_input) == null ? "(input not sent by the agent)" : inputSummary(c.tool_name, c.input ?? c.raw_input)}${c.requires_approval ? "  [needs approval]" : ""}   event ${e.event_id.slice(0, 8)}`);
      break;
    case "approval":
      lines.push(`    ${c.decision} by ${c.approver_id}`);
      break;
    case "tool_result":
    case "tool_retry":
      if (c.replay?.diverged) lines.push(`    ≠ differs from the recording (then: ${c.replay.recorded_error_type ?? c.replay.recorded_outcome})`);
      if (c.outcome === "success") {
        lines.push(`    ✔ ${e.event_type === "tool_retry" ? "retry " : ""}ok  ${formatMs(e.execution_time_ms)}  ${outputPreview(c.output)}`);
      } else {
        lines.push(`    ✖ ${c.error?.type ?? "failed"}: ${c.error?.message ? firstLine(c.error.message, 100) : "(no message recorded)"}  ${formatMs(e.execution_time_ms)}`);
        const d = c.error?.detail ?? {};
        if (d.exit_code !== undefined) lines.push(`      exit code ${d.exit_code}`);
        if (d.stderr) lines.push(...String(d.stderr).trim().split("\n").slice(0, 5).map((l: string) => `      stderr: ${l}`));
      }
      break;
    case "session_end":
      lines.push("", c.final_text ? `Finished: ${firstLine(c.final_text, 200)}` : "Finished (no final text recorded)");
      break;
    case "session_timeout":
    case "session_cancelled":
      lines.push("", `${e.event_type === "session_timeout" ? "Timed out" : "Cancelled"}: ${c.message ?? "(no reason recorded)"}`);
      break;
    case "session_error":
      lines.push("", `Error: ${c.error?.message ?? "(no message recorded)"}`);
      break;
    case "replay_diverged":
      lines.push("", `Replay diverged: ${c.message ?? "(no message recorded)"}`);
      break;
    case "writer_start":
      // Written by a writer that found history it did not write (writerProvenance.ts).
      lines.push(`  writer started at seq ${e.seq}: key ${String(c.key_fingerprint ?? "").slice(0, 16)}… vouches from here on, not for the events before it`);
      break;
    default:
      lines.push(`  ${e.event_type}`);
  }
  return lines;
}

/** An llm_call whose answer a replay took from the recording: no model was called, no tokens spent. */
export function isReplayedAnswer(c: Record<string, any>): boolean {
  return typeof c.request_id === "string" && c.request_id.startsWith("replay-of:");
}

/**
 * A tool output in one line that does not pass for the whole output: the first line, and how
 * many more there are (`README.md  (+3 more lines)`), so a listing never reads as one entry.
 */
export function outputPreview(output: unknown, max = 80): string {
  const text = typeof output === "string" ? output.replace(/\n+$/, "") : output === undefined || output === null ? "" : JSON.stringify(output);
  if (!text) return "(no output)";
  const lines = text.split("\n");
  const more = lines.length - 1;
  return firstLine(text, max) + (more ? `  (+${plural(more, "more line")})` : "");
}
