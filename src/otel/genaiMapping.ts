import { createHash } from "node:crypto";
import type { TrailEventRow } from "../trail/reading/trailQueries";
import { AGENT_AUDIT, ERROR_TYPE, GEN_AI, GEN_AI_OPERATION } from "./genaiAttributes";

/**
 * One mapping between trail events and OpenTelemetry GenAI spans (docs/opentelemetry.md has
 * it as a table). The conventions are pinned: OpenTelemetry semantic conventions 1.40.0, GenAI
 * (status: Development) — the release that has the cache token attributes.
 */
export const GENAI_SEMCONV_VERSION = "1.40.0";
export const SEMCONV_SCHEMA_URL = `https://opentelemetry.io/schemas/${GENAI_SEMCONV_VERSION}`;

export type AttrValue = string | number | boolean | string[];

export interface GenAiSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: "INTERNAL" | "CLIENT";
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  status: { code: "UNSET" | "OK" | "ERROR"; message?: string };
  events: { name: string; timeMs: number; attributes: Record<string, AttrValue> }[];
  /** The seq of the trail event that completed the span (not exported; for a live export's cursor). Set on every span made from a trail. */
  doneSeq?: number;
}

export interface MappingOptions {
  trailId: string;
  /**
   * Export message content, tool arguments and results (`gen_ai.input.messages`,
   * `gen_ai.output.messages`, `gen_ai.tool.call.arguments`/`result`, the task). Off by
   * default; what the trail holds is already redacted.
   */
  content?: boolean;
  /** The messages an llm_call sent (rebuilt from the trail), for `gen_ai.input.messages`. */
  inputMessages?: (llm: TrailEventRow) => unknown[] | undefined;
}

/** Trace ids derive from the trail and session ids, span ids from event ids: exporting twice sends the same spans. */
export function traceIdFor(trailId: string, sessionId: string): string {
  return nonZero(createHash("sha256").update(`agent-audit/trace\n${trailId}\n${sessionId}`).digest("hex").slice(0, 32));
}

export function spanIdFor(trailId: string, eventId: string): string {
  return nonZero(createHash("sha256").update(`agent-audit/span\n${trailId}\n${eventId}`).digest("hex").slice(0, 16));
}

/** An all-zero id is invalid in OTLP; SHA-256 giving one is not going to happen, but the rule is kept. */
function nonZero(hex: string): string {
  return /^0+$/.test(hex) ? hex.slice(0, -1) + "1" : hex;
}

const TERMINAL: Record<string, { status?: string; errorType?: string }> = {
  session_end: {},
  session_timeout: { errorType: "timeout" },
  session_cancelled: { errorType: "cancelled" },
  session_error: { errorType: "error" },
  replay_diverged: { errorType: "replay_diverged" },
};

const PROVIDER = "anthropic";

function parse(e: TrailEventRow): Record<string, unknown> {
  return JSON.parse(e.content) as Record<string, unknown>;
}

function ms(e: TrailEventRow): number {
  return Date.parse(e.timestamp);
}

function provenance(opts: MappingOptions, e: TrailEventRow, prefix = "agent_audit"): Record<string, AttrValue> {
  return { [`${prefix}.trail_id`]: opts.trailId, [`${prefix}.seq`]: e.seq, [`${prefix}.event_hash`]: e.hash };
}

/**
 * The spans of one *ended* session, in the order they start: `invoke_agent` for the session
 * (the root), a `chat {model}` per model call and an `execute_tool {tool}` per tool call, both
 * children of the root; approvals are span events of their tool call. Every span carries the
 * trail provenance (`agent_audit.trail_id`, `.seq`, `.event_hash`) of the event it comes from.
 * Returns [] for a session that has not ended (its root span has no end yet).
 */
export function sessionToSpans(events: TrailEventRow[], opts: MappingOptions): GenAiSpan[] {
  return events.some((e) => e.event_type in TERMINAL) ? sessionSpansSoFar(events, opts) : [];
}

/**
 * The spans of a session as far as it has got: for an ended session all of them (as
 * sessionToSpans); for a running one those already complete — every model call, every tool call
 * that has its result — without the root, which ends with the session. They name the root as
 * their parent all the same (its id derives from the session's start), as an instrumented agent
 * exports a child span when it ends, before its parent. `doneSeq` says which event completed
 * each span, so a live export sends each once.
 */
export function sessionSpansSoFar(events: TrailEventRow[], opts: MappingOptions): GenAiSpan[] {
  const start = events.find((e) => e.event_type === "session_start");
  if (!start) return [];
  const end = events.find((e) => e.event_type in TERMINAL);
  const traceId = traceIdFor(opts.trailId, start.session_id);
  const rootId = spanIdFor(opts.trailId, start.event_id);
  const conversation = start.session_id;
  const spans: GenAiSpan[] = end ? [rootSpan(start, end, traceId, rootId, opts)] : [];
  const results = new Map<string, TrailEventRow>();
  const approvals = new Map<string, TrailEventRow[]>();
  for (const e of events) {
    if (e.event_type === "tool_result" && e.parent_event_id) results.set(e.parent_event_id, e);
    if (e.event_type === "approval" && e.parent_event_id) approvals.set(e.parent_event_id, [...(approvals.get(e.parent_event_id) ?? []), e]);
  }
  for (const e of events) {
    if (e.event_type === "llm_call") spans.push(chatSpan(e, traceId, rootId, conversation, opts));
    if (e.event_type === "tool_call" && (end || results.has(e.event_id))) {
      spans.push(toolSpan(e, results.get(e.event_id), approvals.get(e.event_id) ?? [], traceId, rootId, conversation, opts, end));
    }
  }
  return spans;
}

function rootSpan(start: TrailEventRow, end: TrailEventRow, traceId: string, rootId: string, opts: MappingOptions): GenAiSpan {
  const startContent = parse(start);
  const endInfo = TERMINAL[end.event_type];
  const endContent = parse(end);
  const model = (startContent.model_id as string | undefined) ?? start.model_id ?? undefined;
  return {
    traceId,
    spanId: rootId,
    name: `invoke_agent ${start.agent_id || "agent"}`,
    kind: "INTERNAL",
    startMs: ms(start),
    endMs: ms(end),
    attributes: {
      [GEN_AI.operationName]: GEN_AI_OPERATION.invokeAgent,
      [GEN_AI.providerName]: PROVIDER,
      [GEN_AI.agentName]: start.agent_id,
      [GEN_AI.agentId]: start.agent_id,
      [GEN_AI.conversationId]: start.session_id,
      ...(model ? { [GEN_AI.requestModel]: model } : {}),
      ...(start.agent_version ? { [AGENT_AUDIT.agentVersion]: start.agent_version } : {}),
      ...(start.user_id ? { [AGENT_AUDIT.userId]: start.user_id } : {}),
      [AGENT_AUDIT.sessionEnd]: end.event_type,
      ...(endInfo.errorType ? { [ERROR_TYPE]: endInfo.errorType } : {}),
      ...(opts.content && typeof startContent.task === "string" ? { [AGENT_AUDIT.task]: startContent.task } : {}),
      ...provenance(opts, start),
      ...provenance(opts, end, "agent_audit.end"),
    },
    status: endInfo.errorType ? { code: "ERROR", message: errorMessage(endContent) ?? end.event_type } : { code: "OK" },
    events: [],
    doneSeq: end.seq,
  };
}

function chatSpan(e: TrailEventRow, traceId: string, parent: string, conversation: string, opts: MappingOptions): GenAiSpan {
  const c = parse(e) as {
    request?: { model?: string; max_tokens?: number };
    response?: { model?: string; id?: string; stop_reason?: string; content?: unknown[] };
    usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
    latency_ms?: number;
    request_id?: string;
    error?: { type?: string; message?: string };
  };
  const requestModel = c.request?.model ?? e.model_id ?? "unknown";
  const end = ms(e);
  const attrs: Record<string, AttrValue> = {
    [GEN_AI.operationName]: GEN_AI_OPERATION.chat,
    [GEN_AI.providerName]: PROVIDER,
    [GEN_AI.requestModel]: requestModel,
    [GEN_AI.conversationId]: conversation,
    ...provenance(opts, e),
  };
  if (typeof c.request?.max_tokens === "number") attrs[GEN_AI.requestMaxTokens] = c.request.max_tokens;
  if (c.response?.model) attrs[GEN_AI.responseModel] = c.response.model;
  if (c.response?.id) attrs[GEN_AI.responseId] = c.response.id;
  if (c.request_id) attrs[AGENT_AUDIT.requestId] = c.request_id;
  if (c.response?.stop_reason) attrs[GEN_AI.responseFinishReasons] = [c.response.stop_reason];
  const u = c.usage ?? {};
  if (typeof u.input_tokens === "number") attrs[GEN_AI.usageInputTokens] = u.input_tokens;
  if (typeof u.output_tokens === "number") attrs[GEN_AI.usageOutputTokens] = u.output_tokens;
  if (typeof u.cache_read_input_tokens === "number") attrs[GEN_AI.usageCacheReadInputTokens] = u.cache_read_input_tokens;
  if (typeof u.cache_creation_input_tokens === "number") attrs[GEN_AI.usageCacheCreationInputTokens] = u.cache_creation_input_tokens;
  if (typeof c.latency_ms === "number") attrs[AGENT_AUDIT.latencyMs] = c.latency_ms;
  if (opts.content) {
    if (c.response?.content) attrs[GEN_AI.outputMessages] = JSON.stringify([{ ...toSemconvMessage({ role: "assistant", content: c.response.content }), finish_reason: c.response.stop_reason ?? null }]);
    const input = opts.inputMessages?.(e);
    if (input) attrs[GEN_AI.inputMessages] = JSON.stringify(input.map(toSemconvMessage));
  }
  if (c.error?.type) attrs[ERROR_TYPE] = c.error.type;
  return {
    traceId,
    spanId: spanIdFor(opts.trailId, e.event_id),
    parentSpanId: parent,
    name: `chat ${requestModel}`,
    kind: "CLIENT",
    startMs: end - (typeof c.latency_ms === "number" ? c.latency_ms : 0),
    endMs: end,
    attributes: attrs,
    status: c.error?.type ? { code: "ERROR", message: c.error.message ?? c.error.type } : { code: "UNSET" },
    events: [],
    doneSeq: e.seq,
  };
}

function toolSpan(
  call: TrailEventRow,
  result: TrailEventRow | undefined,
  approvals: TrailEventRow[],
  traceId: string,
  parent: string,
  conversation: string,
  opts: MappingOptions,
  /** The session's end, when it has ended: a call without a result then ends with it. */
  end: TrailEventRow | undefined,
): GenAiSpan {
  const c = parse(call) as { tool_name?: string; tool_use_id?: string; input?: unknown };
  const r = result ? (parse(result) as { outcome?: string; error?: { type?: string; message?: string }; output?: unknown; execution_time_ms?: number }) : undefined;
  const name = c.tool_name ?? call.tool_name ?? "unknown";
  const attrs: Record<string, AttrValue> = {
    [GEN_AI.operationName]: GEN_AI_OPERATION.executeTool,
    [GEN_AI.toolName]: name,
    [GEN_AI.toolType]: "function",
    [GEN_AI.conversationId]: conversation,
    ...provenance(opts, call),
  };
  if (c.tool_use_id) attrs[GEN_AI.toolCallId] = c.tool_use_id;
  if (result) Object.assign(attrs, provenance(opts, result, "agent_audit.result"));
  if (typeof r?.execution_time_ms === "number") attrs[AGENT_AUDIT.executionTimeMs] = r.execution_time_ms;
  if (r?.outcome) attrs[AGENT_AUDIT.outcome] = r.outcome;
  const failed = r?.outcome === "error";
  if (failed) attrs[ERROR_TYPE] = r?.error?.type ?? "error";
  if (!result) attrs[ERROR_TYPE] = "no_result";
  if (opts.content) {
    if (c.input !== undefined) attrs[GEN_AI.toolCallArguments] = JSON.stringify(c.input);
    if (r) attrs[GEN_AI.toolCallResult] = JSON.stringify(failed ? { error: r.error } : r.output ?? null);
  }
  const events = approvals.map((a) => {
    const ac = parse(a) as { decision?: string; approver_id?: string; asked_at?: string; reason?: string };
    return {
      name: AGENT_AUDIT.approval,
      timeMs: ms(a),
      attributes: {
        [AGENT_AUDIT.approvalDecision]: ac.decision ?? "unknown",
        ...(ac.approver_id ? { [AGENT_AUDIT.approvalApproverId]: ac.approver_id } : {}),
        ...(ac.asked_at ? { [AGENT_AUDIT.approvalAskedAt]: ac.asked_at } : {}),
        ...(opts.content && ac.reason ? { [AGENT_AUDIT.approvalReason]: ac.reason } : {}),
        ...provenance(opts, a),
      },
    };
  });
  return {
    traceId,
    spanId: spanIdFor(opts.trailId, call.event_id),
    parentSpanId: parent,
    name: `execute_tool ${name}`,
    kind: "INTERNAL",
    startMs: ms(call),
    endMs: result ? ms(result) : ms(call),
    attributes: attrs,
    status: failed || !result ? { code: "ERROR", message: r?.error?.message ?? (result ? "tool failed" : "no result was recorded") } : { code: "UNSET" },
    events,
    doneSeq: result?.seq ?? end?.seq ?? call.seq,
  };
}

function errorMessage(c: Record<string, unknown>): string | undefined {
  const e = c.error as { message?: unknown } | undefined;
  return typeof e?.message === "string" ? e.message : undefined;
}

/**
 * An Anthropic Messages API message in the conventions' message format: `{role, parts}` with
 * `text`, `tool_call` (id, name, arguments), `tool_call_response` (id, response) and
 * `reasoning` parts; other blocks pass through with their own type.
 */
export function toSemconvMessage(m: unknown): { role: string; parts: Record<string, unknown>[] } {
  const msg = (m ?? {}) as { role?: unknown; content?: unknown };
  const role = typeof msg.role === "string" ? msg.role : "user";
  const blocks = typeof msg.content === "string" ? [{ type: "text", text: msg.content }] : Array.isArray(msg.content) ? msg.content : [];
  const parts = blocks.map((b: Record<string, unknown>) => {
    switch (b?.type) {
      case "text":
        return { type: "text", content: b.text };
      case "tool_use":
        return { type: "tool_call", id: b.id, name: b.name, arguments: b.input };
      case "tool_result":
        return { type: "tool_call_response", id: b.tool_use_id, response: b.content };
      case "thinking":
        return { type: "reasoning", content: b.thinking };
      default:
        return { ...b };
    }
  });
  // A message of tool results is the tool's answer, not the user's words.
  return { role: role === "user" && parts.length > 0 && parts.every((p) => p.type === "tool_call_response") ? "tool" : role, parts };
}
