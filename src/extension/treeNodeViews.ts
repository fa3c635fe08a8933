import { AGENT_ID } from "../agent/agentDefaults";
import { RETENTION_AGENT_ID } from "../trail/store/retention";
import { inputSummary } from "../shared/inputSummary";
import type { EventHead, SessionSummary, TrailEventRow } from "../trail/reading/trailQueries";
import type { ParsedStep, ToolCallGroup } from "./sessionModel";
import { contentOf, FILE_TOOLS } from "./sessionModel";
import { outcomeOf } from "./stepDetailsModel";
import { revealHidden } from "../shared/hiddenText";

/** How each kind of Sessions tree row looks, computed without VS Code (so it is testable). */

export interface IconView {
  /** A codicon id, e.g. "pass" or "sync~spin". */
  id: string;
  /** A theme color id, e.g. "testing.iconPassed". */
  color?: string;
}

export interface TooltipView {
  heading: string;
  fields: [string, string][];
  code?: string;
}

/** Everything a TreeItem needs. */
export interface NodeView {
  id: string;
  label: string;
  description: string;
  icon: IconView;
  contextValue: string;
  collapsible: "none" | "collapsed" | "expanded";
  /** Badge count (failed tool calls) on sessions. */
  failedCount?: number;
  opensDetails: boolean;
}

/**
 * The badge for a session's failed tool calls. VS Code accepts at most two characters (it
 * rejects "99+" and then shows nothing, so the worst sessions looked clean): 1–99 as the
 * number, more as "!"; the exact count is in the tooltip and the description.
 */
export function failedCountBadge(n: number): { badge: string; tooltip: string } | undefined {
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return { badge: n > 99 ? "!" : String(n), tooltip: `${n.toLocaleString("en-US")} failed tool call${n === 1 ? "" : "s"}` };
}

export const STATUS_ICON: Record<string, IconView> = {
  running: { id: "sync~spin" },
  completed: { id: "pass", color: "testing.iconPassed" },
  error: { id: "error", color: "errorForeground" },
  timeout: { id: "watch", color: "editorWarning.foreground" },
  cancelled: { id: "circle-slash", color: "disabledForeground" },
  diverged: { id: "git-compare", color: "editorWarning.foreground" },
};

/** Agent ids of sessions Agent Audit writes itself (the runner, retention). */
const OWN_AGENTS = new Set([AGENT_ID, RETENTION_AGENT_ID]);

export function sessionView(id: string, s: SessionSummary | undefined, now: number): NodeView {
  if (!s) return { id, label: id.split(":").pop() ?? id, description: "(gone)", icon: { id: "question" }, contextValue: "session", collapsible: "none", opensDetails: false };
  const parts = [ago(s.started_at, now), `${s.steps} step${s.steps === 1 ? "" : "s"}`, `${compact(s.input_tokens + s.output_tokens)} tok`];
  // Sessions received from another agent (OpenTelemetry) say which one.
  if (s.agent_id && !OWN_AGENTS.has(s.agent_id)) parts.unshift(s.agent_id);
  if (s.failed_tool_calls) parts.push(`${s.failed_tool_calls.toLocaleString("en-US")} failed`);
  const ctx = ["session", s.status, s.failed_tool_calls ? "hasFailures" : ""].filter(Boolean).join("+");
  return {
    id,
    label: firstLine(s.task, 60) || s.session_id.slice(0, 8),
    description: parts.join(" · "),
    icon: STATUS_ICON[s.status] ?? { id: "circle-outline" },
    contextValue: ctx,
    collapsible: s.status === "running" ? "expanded" : "collapsed",
    failedCount: s.failed_tool_calls || undefined,
    opensDetails: false,
  };
}

export function sessionTooltip(s: SessionSummary): TooltipView {
  return {
    heading: s.task?.split("\n")[0] ?? s.session_id,
    fields: [
      ["Session", s.session_id],
      ["Status", s.status],
      ["Started", s.started_at],
      ["Ended", s.ended_at ?? "—"],
      ["Steps", String(s.steps)],
      ["Tokens", `${s.input_tokens.toLocaleString("en-US")} in / ${s.output_tokens.toLocaleString("en-US")} out`],
      ["Tool calls", `${s.tool_calls} (${s.failed_tool_calls.toLocaleString("en-US")} failed)`],
      ["Model", s.model_id ?? "—"],
    ],
    code: s.task ?? undefined,
  };
}

/** A page of a long session's steps ("Steps 101–200"). */
export function stepGroupView(id: string, steps: ParsedStep[]): NodeView {
  const failed = steps.reduce((n, st) => n + st.toolCalls.filter((g) => outcomeOf(g) === "error").length, 0);
  const first = steps[0]?.step ?? 0;
  const last = steps[steps.length - 1]?.step ?? 0;
  return {
    id,
    label: `Steps ${first}–${last}`,
    description: failed ? `${failed.toLocaleString("en-US")} failed` : "",
    icon: { id: failed ? "error" : "list-flat", color: failed ? "errorForeground" : undefined },
    contextValue: "stepGroup",
    collapsible: "collapsed",
    opensDetails: false,
  };
}

export function stepView(id: string, step: number, st: ParsedStep | undefined): NodeView {
  const failed = st?.toolCalls.filter((g) => outcomeOf(g) === "error").length ?? 0;
  const pending = st ? st.toolCalls.some((g) => outcomeOf(g) === "pending") || !st.llm : false;
  const parts: string[] = [];
  if (st?.llm) parts.push(`model ${ms(st.llm.latency_ms)}`, `${compact(st.llm.input_tokens ?? 0)}→${compact(st.llm.output_tokens ?? 0)} tok`);
  if (st?.toolCalls.length) parts.push(st.toolCalls.map((g) => g.call.tool_name).join(", "));
  return {
    id,
    label: `Step ${step}`,
    description: parts.join(" · "),
    icon: failed ? { id: "error", color: "errorForeground" } : pending && !st?.end ? { id: "loading~spin" } : { id: "pass", color: "testing.iconPassed" },
    contextValue: ["step", failed ? "failed" : ""].filter(Boolean).join("+"),
    collapsible: "collapsed",
    failedCount: failed || undefined,
    opensDetails: true,
  };
}

export function llmView(id: string, llm: TrailEventRow | undefined): NodeView {
  const c = llm ? contentOf(llm) : {};
  const calls = (c.tool_calls_requested ?? []).length;
  return {
    id,
    label: "Model call",
    description: llm ? `${ms(llm.latency_ms)} · ${compact(llm.input_tokens ?? 0)} in / ${compact(llm.output_tokens ?? 0)} out · ${calls ? `${calls} tool call${calls > 1 ? "s" : ""}` : "answer"}` : "",
    icon: { id: "sparkle" },
    contextValue: "event+llm",
    collapsible: "none",
    opensDetails: true,
  };
}

export function llmTooltip(llm: TrailEventRow): TooltipView {
  const c = contentOf(llm);
  const text = (c.response?.content ?? []).map((b: { type: string; text?: string; thinking?: string }) =>
    b.type === "thinking" ? `(thinking) ${b.thinking}` : b.type === "text" ? b.text : `→ ${(b as { name?: string }).name}`,
  );
  return {
    heading: "Model call",
    fields: [["Latency", `${c.latency_ms} ms`], ["Request id", String(c.request_id ?? "—")], ["Stop reason", String(c.response?.stop_reason ?? "—")]],
    code: text.join("\n").slice(0, 2000),
  };
}

/** A tool call row; `call` is the tool_call event with its content. */
export function toolCallView(id: string, g: ToolCallGroup | undefined, call: TrailEventRow | undefined): NodeView {
  if (!g || !call) return { id, label: "tool call", description: "", icon: { id: "question" }, contextValue: "event+toolCall", collapsible: "none", opensDetails: true };
  const outcome = outcomeOf(g);
  const c = contentOf(call);
  const parts = [inputSummary(call.tool_name, c.input ?? c.raw_input, 50)];
  if (g.result?.outcome === "error" && g.result.error_type) parts.push(g.result.error_type);
  if (g.result?.execution_time_ms !== null && g.result?.execution_time_ms !== undefined) parts.push(ms(g.result.execution_time_ms));
  if (g.approval) parts.push(`${g.approval.approval_status === "approved" ? "✓" : g.approval.approval_status === "edited" ? "✎" : "✗"} ${g.approval.approval_status}`);
  const ctx = ["event", "toolCall", outcome === "error" ? "failed" : outcome, FILE_TOOLS.has(call.tool_name ?? "") ? "fileTool" : "", g.approval ? String(g.approval.approval_status) : ""];
  return {
    id,
    label: call.tool_name ?? "tool call",
    description: parts.join(" · "),
    icon:
      outcome === "error" ? { id: "error", color: "errorForeground" }
      : outcome === "pending" ? { id: "loading~spin" }
      : { id: "pass", color: "testing.iconPassed" },
    contextValue: ctx.filter(Boolean).join("+"),
    collapsible: "none",
    opensDetails: true,
  };
}

export function toolCallTooltip(g: ToolCallGroup, call: TrailEventRow, result: TrailEventRow | undefined): TooltipView {
  const fields: [string, string][] = [["Outcome", outcomeOf(g)]];
  if (g.result?.execution_time_ms !== undefined && g.result?.execution_time_ms !== null) fields.push(["Duration", `${g.result.execution_time_ms} ms`]);
  if (g.approval) fields.push(["Approval", `${g.approval.approval_status} by ${g.approval.approver_id}`]);
  const r = result ? contentOf(result) : undefined;
  if (r?.error) fields.push(["Error", `${r.error.type}: ${r.error.message}`]);
  const c = contentOf(call);
  return { heading: call.tool_name ?? "tool call", fields, code: JSON.stringify(c.input ?? c.raw_input, null, 2) };
}

export function retryView(id: string, retry: TrailEventRow | undefined): NodeView {
  const c = retry ? contentOf(retry) : {};
  const ok = c.outcome === "success";
  const parts = [ok ? "✔ ok" : `✖ ${c.error?.type ?? "error"}`];
  if (c.input_edited) parts.push(`edited: ${inputSummary(retry?.tool_name ?? null, c.input, 40)}`);
  if (retry?.execution_time_ms !== null && retry?.execution_time_ms !== undefined) parts.push(ms(retry.execution_time_ms));
  parts.push(retry ? retry.timestamp.replace("T", " ").slice(0, 19) : "");
  return {
    id,
    label: `↻ ${retry?.tool_name ?? "retry"} (retry)`,
    description: parts.filter(Boolean).join(" · "),
    icon: ok ? { id: "pass", color: "testing.iconPassed" } : { id: "error", color: "errorForeground" },
    contextValue: `event+retry+${ok ? "success" : "failed"}`,
    collapsible: "none",
    opensDetails: true,
  };
}

export function endView(id: string, end: TrailEventRow | undefined): NodeView {
  const c = end ? contentOf(end) : {};
  const labels: Record<string, [string, IconView]> = {
    session_end: ["Finished", { id: "check-all", color: "testing.iconPassed" }],
    session_timeout: ["Stopped: max iterations", STATUS_ICON.timeout],
    session_cancelled: ["Cancelled", STATUS_ICON.cancelled],
    session_error: ["Error", STATUS_ICON.error],
    replay_diverged: ["Replay diverged", STATUS_ICON.diverged],
  };
  const [label, icon] = labels[end?.event_type ?? ""] ?? ["Ended", { id: "circle-outline" }];
  return {
    id,
    label,
    description: firstLine(c.final_text ?? c.message ?? c.error?.message ?? "", 80),
    icon,
    contextValue: "event+end",
    collapsible: "none",
    opensDetails: true,
  };
}

/** The seqs of a tool call's events (call, approval, result). */
export function groupSeqs(g: ToolCallGroup): number[] {
  return [g.call, g.approval, g.result].filter((e): e is EventHead => !!e).map((e) => e.seq);
}

function firstLine(text: string | null | undefined, max: number): string {
  // A label is trail text: a `\r`, a bidi override or a zero-width character in it is shown escaped.
  const line = revealHidden((text ?? "").split("\n")[0].trim()).text;
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}

function compact(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`;
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return iso.slice(0, 10);
}
