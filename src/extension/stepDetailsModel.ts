import type { SessionSummary } from "../trail/reading/trailQueries";
import type { RetryView, SessionHeader, StepDetail, StepSummary, TimeSpan, ToolCallView } from "../shared/protocol";
import { inputSummary } from "../shared/inputSummary";
import type { EventHead, TrailEventRow } from "../trail/reading/trailQueries";
import { OUTPUT_PREVIEW_CHARS } from "../shared/protocol";
import type { ParsedSession, ParsedStep, ToolCallGroup } from "./sessionModel";
import { contentOf } from "./sessionModel";
import type { Pricing } from "../shared/pricing";
import { costOf, pricing } from "../shared/pricing";

/** The cost of one model call (by its head), or null when its model has no price. */
export function callCost(llm: EventHead | undefined, prices: Pricing): number | null {
  const price = llm ? prices.priceOf(llm.model_id, llm.timestamp) : undefined;
  return llm && price ? costOf(llm, price) : null;
}

/** A session's cost: the sum of its model calls, or null if any of them has no price. */
export function sessionCost(session: ParsedSession, prices: Pricing): number | null {
  let total = 0;
  for (const st of session.steps) {
    if (!st.llm) continue;
    const c = callCost(st.llm, prices);
    if (c === null) return null;
    total += c;
  }
  return total;
}

export function toHeader(s: SessionSummary, costUsd: number | null = null, parsed?: ParsedSession): SessionHeader {
  // The steps the timeline lists: a session's end recorded under a step that never ran is
  // shown in the last step that did (sessionModel.ts), so it is no step of its own here either.
  const lastStep = parsed?.steps[parsed.steps.length - 1];
  return {
    costUsd,
    sessionId: s.session_id,
    task: s.task ?? "",
    status: s.status,
    startedAt: s.started_at,
    endedAt: s.ended_at,
    steps: parsed ? parsed.steps.length : s.steps,
    endedIn: parsed?.end && lastStep?.end === parsed.end ? { type: parsed.end.event_type, step: lastStep.step } : null,
    inputTokens: s.input_tokens,
    outputTokens: s.output_tokens,
    toolCalls: s.tool_calls,
    failedToolCalls: s.failed_tool_calls,
    model: s.model_id,
    ...receivedOrigin(s),
  };
}

/** Step summaries for the timeline: all steps, or only those numbered in `only`. */
export function toStepSummaries(session: ParsedSession, only?: Set<number>, prices: Pricing = pricing()): StepSummary[] {
  const steps = only ? [...only].sort((a, b) => a - b).map((n) => session.step(n)).filter((st): st is ParsedStep => !!st) : session.steps;
  return steps.map((st) => {
    const first = st.events[0];
    const last = st.events[st.events.length - 1];
    return {
      step: st.step,
      startedAt: first?.timestamp ?? "",
      durationMs: first && last ? Date.parse(last.timestamp) - Date.parse(first.timestamp) + (st.llm?.latency_ms ?? 0) : 0,
      modelMs: st.llm?.latency_ms ?? null,
      inputTokens: st.llm?.input_tokens ?? 0,
      outputTokens: st.llm?.output_tokens ?? 0,
      tools: st.toolCalls.map((g) => ({ name: g.call.tool_name ?? "?", outcome: outcomeOf(g) })),
      failedToolCalls: st.toolCalls.filter((g) => outcomeOf(g) === "error").length,
      costUsd: callCost(st.llm, prices),
    };
  });
}

/**
 * The session on its own clock: each model call ends when it was recorded and began its
 * latency earlier; each tool run ends with its result and began its execution time earlier;
 * a wait for approval runs from the tool call to the approval. Gaps between them are the
 * agent's own time (or, before a tool, the approval wait shown as such).
 */
export function toTimeSpans(session: ParsedSession, only?: Set<number>): TimeSpan[] {
  const t0 = Date.parse(session.start?.timestamp ?? session.steps[0]?.events[0]?.timestamp ?? "");
  if (!Number.isFinite(t0)) return [];
  const at = (iso: string) => Date.parse(iso) - t0;
  const spans: TimeSpan[] = [];
  for (const st of session.steps) {
    if (only && !only.has(st.step)) continue;
    if (st.llm) {
      const end = at(st.llm.timestamp);
      spans.push({ step: st.step, kind: "model", label: "model", startMs: Math.max(0, end - (st.llm.latency_ms ?? 0)), endMs: end });
    }
    for (const g of st.toolCalls) {
      const called = at(g.call.timestamp);
      let ready = called;
      if (g.approval) {
        ready = at(g.approval.timestamp);
        spans.push({ step: st.step, kind: "approval", label: `approval: ${g.approval.approval_status ?? "?"}`, startMs: called, endMs: ready });
      }
      const name = g.call.tool_name ?? "tool";
      if (g.result) {
        const end = at(g.result.timestamp);
        const start = Math.max(ready, end - (g.result.execution_time_ms ?? end - ready));
        spans.push({ step: st.step, kind: "tool", label: name, startMs: start, endMs: end, outcome: outcomeOf(g) });
      } else {
        spans.push({ step: st.step, kind: "tool", label: name, startMs: ready, endMs: ready, outcome: "pending" });
      }
    }
  }
  return spans;
}

export function outcomeOf(g: ToolCallGroup): "success" | "error" | "pending" {
  if (!g.result) return "pending";
  return g.result.outcome === "error" ? "error" : "success";
}

/**
 * Search hits (per event) as hits per step, in step order. The session's start (its task) counts
 * for the first step, where Step Details shows it in the request.
 */
export function searchHits(session: ParsedSession, hits: { seq: number; count: number }[]): { step: number; count: number }[] {
  const stepOf = new Map<number, number>();
  for (const st of session.steps) for (const e of st.events) stepOf.set(e.seq, st.step);
  const first = session.steps[0]?.step;
  const counts = new Map<number, number>();
  for (const h of hits) {
    const step = stepOf.get(h.seq) ?? (h.seq === session.start?.seq ? first : undefined);
    if (step !== undefined) counts.set(step, (counts.get(step) ?? 0) + h.count);
  }
  return [...counts].sort((a, b) => a[0] - b[0]).map(([step, count]) => ({ step, count }));
}

/** Whole events by seq, for the heads a step detail shows (see stepDetailSeqs). */
export type EventRows = Map<number, TrailEventRow>;

/** The events whose content a step's detail shows: all of the step, and the next step's model call and calls. */
export function stepDetailSeqs(st: ParsedStep, next?: ParsedStep): number[] {
  const seqs = st.events.map((e) => e.seq);
  for (const g of st.toolCalls) for (const r of g.retries) if (!seqs.includes(r.seq)) seqs.push(r.seq);
  if (next?.llm) seqs.push(next.llm.seq);
  for (const g of next?.toolCalls ?? []) seqs.push(g.call.seq);
  return seqs;
}

export function toStepDetail(st: ParsedStep, next: ParsedStep | undefined, rows: EventRows, prices: Pricing = pricing()): StepDetail {
  const row = (h: EventHead): TrailEventRow => {
    const r = rows.get(h.seq);
    if (!r) throw new Error(`event seq ${h.seq} could not be read from the trail`);
    return r;
  };
  const detail: StepDetail = { step: st.step, toolCalls: st.toolCalls.map((g) => toToolCallView(g, row)) };
  if (next) {
    const said = next.llm ? (contentOf(row(next.llm)).output_text ?? "").split("\n")[0].slice(0, 120) : "";
    const tools = next.toolCalls.map((g) => `${g.call.tool_name} ${inputSummary(g.call.tool_name, contentOf(row(g.call)).input, 40)}`);
    detail.next = { step: next.step, summary: [said && `“${said}”`, tools.length ? `then ${tools.join(", ")}` : next.end ? "and ended the session" : ""].filter(Boolean).join(" ") };
  }
  let texts: string[] = [];
  if (st.llm) {
    const c = contentOf(row(st.llm));
    const blocks: { type: string; thinking?: string; text?: string }[] = c.response?.content ?? [];
    detail.llm = {
      eventId: st.llm.event_id,
      thinking: blocks.filter((b) => b.type === "thinking").map((b) => b.thinking ?? ""),
      texts: (texts = blocks.filter((b) => b.type === "text").map((b) => b.text ?? "")),
      latencyMs: st.llm.latency_ms,
      timeToFirstTokenMs: c.time_to_first_token_ms ?? null,
      inputTokens: st.llm.input_tokens ?? 0,
      outputTokens: st.llm.output_tokens ?? 0,
      cacheReadTokens: c.usage?.cache_read_input_tokens ?? 0,
      cacheWriteTokens: c.usage?.cache_creation_input_tokens ?? 0,
      costUsd: callCost(st.llm, prices),
      priceSource: prices.priceOf(st.llm.model_id, st.llm.timestamp)?.source ?? null,
      requestId: c.request_id ?? null,
      retries: c.retries ?? 0,
      stopReason: c.response?.stop_reason ?? null,
    };
  }
  if (st.end) {
    const c = contentOf(row(st.end));
    // A finished session's final text is the model's last answer, already shown above.
    const repeated = typeof c.final_text === "string" && c.final_text === texts.join("\n");
    detail.end = { type: st.end.event_type, message: repeated ? "" : c.final_text ?? c.message ?? c.error?.message ?? "" };
  }
  return detail;
}

function toRetryView(e: TrailEventRow): RetryView {
  const c = contentOf(e);
  return {
    eventId: e.event_id,
    time: e.timestamp,
    outcome: c.outcome === "success" ? "success" : "error",
    input: c.input,
    inputEdited: c.input_edited === true,
    output: typeof c.output === "string" ? c.output.slice(0, OUTPUT_PREVIEW_CHARS) : undefined,
    error: c.error ? { type: c.error.type, message: c.error.message, detail: c.error.detail ?? {} } : undefined,
    executionTimeMs: e.execution_time_ms,
    approval: c.approver_id ? { decision: c.approval_status ?? "", approverId: c.approver_id } : undefined,
  };
}

function toToolCallView(g: ToolCallGroup, row: (h: EventHead) => TrailEventRow): ToolCallView {
  const call = contentOf(row(g.call));
  const view: ToolCallView = {
    callEventId: g.call.event_id,
    resultEventId: g.result?.event_id ?? null,
    toolName: g.call.tool_name ?? "?",
    input: call.input,
    rawInput: call.raw_input,
    requiresApproval: call.requires_approval === true,
    outcome: outcomeOf(g),
    retries: g.retries.map((r) => toRetryView(row(r))),
    outputPreview: false,
    truncatedInTrail: false,
    executionTimeMs: g.result?.execution_time_ms ?? null,
  };
  if (g.approval) {
    const a = contentOf(row(g.approval));
    view.approval = {
      decision: a.decision,
      approverId: a.approver_id,
      askedAt: a.asked_at,
      answeredAt: a.answered_at,
      editedInput: a.edited_input,
      reason: a.reason,
    };
  }
  if (g.result) {
    const r = contentOf(row(g.result));
    if (typeof r.output === "string") {
      view.outputPreview = r.output.length > OUTPUT_PREVIEW_CHARS;
      view.output = view.outputPreview ? r.output.slice(0, OUTPUT_PREVIEW_CHARS) : r.output;
    }
    view.truncatedInTrail = r.output_truncated === true;
    view.outputBytes = r.output_bytes;
    view.outputSha256 = r.output_sha256;
    if (r.error) view.error = { type: r.error.type, message: r.error.message, detail: r.error.detail ?? {} };
  }
  return view;
}

/**
 * Who recorded a session that is not our agent's: received sessions have ids of their own
 * (`otel-…`, src/otel/receivedIdentity.ts; `claude-code-…`, src/capture); ours are UUIDs.
 */
function receivedOrigin(s: SessionSummary): Pick<SessionHeader, "receivedFrom" | "receivedVia"> {
  if (s.session_id.startsWith("otel-")) return { receivedFrom: s.agent_id || "another agent", receivedVia: "over OpenTelemetry (OTLP)" };
  if (s.session_id.startsWith("claude-code-")) return { receivedFrom: "Claude Code", receivedVia: "through its hooks and transcript" };
  return { receivedFrom: null, receivedVia: null };
}
