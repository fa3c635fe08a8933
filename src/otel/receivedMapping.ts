import { createHash } from "node:crypto";
import { canonicalJson } from "../trail/integrity/canonicalJson";
import type { BlobInput, EventInput } from "../trail/store/eventTypes";
import type { TrailReader } from "../trail/reading/trailReader";
import type { ReceivedLogRecord, ReceivedSpanRecord } from "./otlpDecode";
import { eventIdFor, ownedSessionId, receivedAgentId } from "./receivedIdentity";
import { jsonTextDepth, valueDepth } from "./receiverGate";
import { AGENT_AUDIT, ERROR_TYPE, GEN_AI, GEN_AI_OPERATION } from "./genaiAttributes";

/**
 * Received records of one group as trail events (the reverse of genaiMapping.ts; the table is
 * in docs/opentelemetry.md), in the order things happened: a `chat` span or an `api_request`
 * log starts a step, tool spans and results belong to the step before them. Each event gets,
 * beside it, the record it came from as an otel_span/otel_log, for when the trail refuses it.
 */
export type Staged = ({ kind: "span"; group: string; r: ReceivedSpanRecord } | { kind: "log"; group: string; r: ReceivedLogRecord }) & {
  /** When it was received (ms); what the sender claims is in the record. */
  at?: number;
};

const s = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && v.trim() && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** Content deeper than this is not stored as mapped (the trail's JSON functions stop at 1,000). */
const MAX_CONTENT_DEPTH = 200;

const serviceOf = (resource: Record<string, unknown>) => s(resource["service.name"]) ?? "agent";

/** The group a span belongs to: its trace, as one sender sends it. */
export function spanGroup(r: ReceivedSpanRecord): string {
  return `trace:${r.traceId}:${serviceOf(r.resource)}`;
}

/** The group of a log record: the Claude Code session (session.id), else its trace, else its service. */
export function logGroup(r: ReceivedLogRecord): string {
  const session = s(r.attributes["session.id"]) ?? s(r.resource["session.id"]);
  if (session) return `session:${serviceOf(r.resource)}:${session}`;
  if (r.traceId) return `trace:${r.traceId}:${serviceOf(r.resource)}`;
  return `service:${serviceOf(r.resource)}`;
}

/** One group's events as planned: what each maps to, in the order things happened. */
export interface PlannedGroup {
  group: string;
  events: EventInput[];
}

/**
 * The events of every ready group, mapped against the trail as it is now; a group whose records
 * cannot be mapped is planned as the records it holds. `fallbacks` gives, for each mapped
 * event, the record it came from, to write instead when the trail refuses the event.
 */
export function planGroups(
  reader: TrailReader,
  staged: readonly Staged[],
  ready: ReadonlySet<string>,
  rawJson: (raw: unknown) => string | undefined,
  log: (message: string) => void,
): { planned: PlannedGroup[]; fallbacks: Map<EventInput, EventInput> } {
  const planned: PlannedGroup[] = [];
  const fallbacks = new Map<EventInput, EventInput>();
  // Each group's records, in one pass over what is staged (not one pass per group).
  const byGroup = new Map<string, Staged[]>();
  for (const x of staged) {
    if (!ready.has(x.group)) continue;
    const items = byGroup.get(x.group);
    if (items) items.push(x);
    else byGroup.set(x.group, [x]);
  }
  const mapper = new GroupMapper(reader, rawJson);
  for (const [group, items] of byGroup) {
    try {
      planned.push({ group, events: mapper.eventsOf(group, items, fallbacks) });
    } catch (err) {
      log(`could not map the received records of ${group} (${(err as Error).message}): kept as the records they are`);
      planned.push({ group, events: mapper.unmappedEvents(group, items, (err as Error).message) });
    }
  }
  return { planned, fallbacks };
}

/** One pass of writing: the trail as it is now, and the session ids given out in this pass. */
class GroupMapper {
  /** Session id → the sender it was given to in this pass (not in the trail yet). */
  private readonly claimed = new Map<string, string>();

  constructor(
    private readonly reader: TrailReader,
    /** A record's JSON as staged (made once), if there is one. */
    private readonly rawJson: (raw: unknown) => string | undefined,
  ) {}

  /** The trail events of one group's records, in the order things happened. */
  eventsOf(group: string, items: Staged[], fallbacks: Map<EventInput, EventInput>): EventInput[] {
    const { reader, claimed } = this;
    const first = items[0];
    const resource = first.r.resource;
    const service = serviceOf(resource);
    const { id: sessionId, known } = ownedSessionId(group, service, reader, claimed, (id) => reader.getSession(id));
    // The agent: as the spans name it (gen_ai.agent.name), else the sending service; never one of ours.
    const named = items.map((x) => (x.kind === "span" ? s(x.r.attributes[GEN_AI.agentName]) : undefined)).find(Boolean);
    const agentId = receivedAgentId(named ?? s(resource["service.name"]) ?? "otel-agent");
    const base = { session_id: sessionId, agent_id: agentId, user_id: s(resource["user.email"]) ?? s(resource["user.id"]) ?? "", agent_version: s(resource["service.version"]) ?? null };
    const events: EventInput[] = [];
    let step = known?.steps ?? 0;
    let started = !!known;
    const ordered = [...items].sort((a, b) => time(a) - time(b));
    const receivedAt = new Map<unknown, Staged>(items.map((x) => [x.r.raw, x]));
    // The sender's resource (service, host, versions) is one blob for the group; each record
    // its own (a tool span gives two events, one blob).
    const resourceBody = canonicalJson({ resource: first.r.resource, scope: first.r.scope } as Record<string, unknown>);
    const resourceHash = createHash("sha256").update(resourceBody).digest("hex");
    const recordBlobs = new Map<unknown, { hash: string; body: string }>();
    let resourceSent = false;
    const add = (type: string, at: number, content: Record<string, unknown>, raw: unknown, role: string, extra: Partial<EventInput> = {}) => {
      let rec = recordBlobs.get(raw);
      const blobs: BlobInput[] = [];
      if (!rec) {
        // As received (OTLP/JSON form); its hash is its address, like every blob's.
        const body = this.rawJson(raw) ?? JSON.stringify(raw);
        rec = { hash: createHash("sha256").update(body).digest("hex"), body };
        recordBlobs.set(raw, rec);
        blobs.push({ kind: "otlp", body });
      }
      if (!resourceSent) {
        blobs.push({ kind: "otlp", body: resourceBody });
        resourceSent = true;
      }
      const staged = receivedAt.get(raw);
      const arrived = staged?.at ?? Date.now();
      // Times are as the sender claims them; when it arrived is beside them, in every event.
      const received = { via: "otlp", service, received_at: new Date(arrived).toISOString(), record: rec.hash, resource: resourceHash };
      const timestamp = isoTime(at) ?? new Date(arrived).toISOString();
      const stepNumber = type === "session_start" ? 0 : Math.max(step, 0);
      // The record itself, whole, for when the trail cannot take what it maps to.
      const kept: EventInput = {
        ...base,
        event_type: staged?.kind === "log" ? "otel_log" : "otel_span",
        step_number: stepNumber,
        timestamp,
        event_id: eventIdFor(sessionId, rec.hash, `${role}:unmapped`),
        content: { name: staged ? recordName(staged) : type, unmapped: { as: type }, received },
        blobs: [{ kind: "otlp", body: rec.body }, { kind: "otlp", body: resourceBody }],
      };
      const event: EventInput = {
        ...base,
        ...extra,
        event_type: type,
        step_number: stepNumber,
        timestamp,
        event_id: eventIdFor(sessionId, rec.hash, role),
        content: { ...content, received, ...(isoTime(at) ? {} : { claimed_time: String(at) }) },
        blobs,
      };
      if (valueDepth(event.content, MAX_CONTENT_DEPTH) > MAX_CONTENT_DEPTH) {
        events.push({ ...kept, content: { ...kept.content, unmapped: { as: type, reason: `its content is nested deeper than ${MAX_CONTENT_DEPTH} levels` } } });
        return;
      }
      events.push(event);
      fallbacks.set(event, kept);
    };
    const spans = ordered.filter((x): x is Extract<Staged, { kind: "span" }> => x.kind === "span").map((x) => x.r);
    const root = spans.find((r) => op(r) === GEN_AI_OPERATION.invokeAgent) ?? spans.find((r) => !r.parentSpanId);
    if (!started && (root || spans.length)) {
      const at = Math.min(...spans.map((r) => r.startMs));
      const r0 = root ?? spans[0];
      add("session_start", at, {
        task: s(r0.attributes[AGENT_AUDIT.task]) ?? s(r0.attributes[GEN_AI.agentDescription]) ?? `${s(r0.attributes[GEN_AI.agentName]) ?? agentId}: ${r0.name}`,
        model_id: s(r0.attributes[GEN_AI.requestModel]) ?? null,
        source: { protocol: "otlp", service: agentId, scope: r0.scope, trace_id: r0.traceId },
      }, r0.raw, "start", { model_id: s(r0.attributes[GEN_AI.requestModel]) ?? null });
      started = true;
    }
    for (const it of ordered) {
      if (it.kind === "span") {
        const r = it.r;
        const kind = op(r);
        if (kind === GEN_AI_OPERATION.chat || kind === "text_completion" || kind === "generate_content") {
          step++;
          const a = r.attributes;
          const failed = r.status.code === 2;
          add("llm_call", r.endMs, {
            request: { model: s(a[GEN_AI.requestModel]) ?? null, max_tokens: n(a[GEN_AI.requestMaxTokens]) ?? null },
            response: { model: s(a[GEN_AI.responseModel]) ?? null, id: s(a[GEN_AI.responseId]) ?? null, stop_reason: (a[GEN_AI.responseFinishReasons] as string[] | undefined)?.[0] ?? null },
            usage: {
              input_tokens: n(a[GEN_AI.usageInputTokens]) ?? 0,
              output_tokens: n(a[GEN_AI.usageOutputTokens]) ?? 0,
              cache_read_input_tokens: n(a[GEN_AI.usageCacheReadInputTokens]) ?? 0,
              cache_creation_input_tokens: n(a[GEN_AI.usageCacheCreationInputTokens]) ?? 0,
            },
            latency_ms: Math.round(r.endMs - r.startMs),
            output_text: textOf(a[GEN_AI.outputMessages]),
            ...(failed ? { error: { type: s(a[ERROR_TYPE]) ?? "error", message: r.status.message } } : {}),
          }, r.raw, `span:${r.spanId}`, { model_id: s(a[GEN_AI.requestModel]) ?? null });
        } else if (kind === GEN_AI_OPERATION.executeTool) {
          if (step === 0) step = 1;
          const a = r.attributes;
          const tool = s(a[GEN_AI.toolName]) ?? r.name.replace(/^execute_tool\s*/, "") ?? "tool";
          const callId = eventIdFor(sessionId, r.spanId, "call");
          add("tool_call", r.startMs, { tool_name: tool, tool_use_id: s(a[GEN_AI.toolCallId]) ?? null, input: jsonOf(a[GEN_AI.toolCallArguments]) ?? null, requires_approval: false }, r.raw, `span:${r.spanId}:call`);
          events[events.length - 1].event_id = callId;
          for (const e of r.events.filter((x) => x.name === AGENT_AUDIT.approval || x.name.endsWith(".approval"))) {
            add("approval", e.timeMs, { tool_name: tool, decision: s(e.attributes[AGENT_AUDIT.approvalDecision]) ?? "unknown", approval_status: s(e.attributes[AGENT_AUDIT.approvalDecision]) ?? "unknown", approver_id: s(e.attributes[AGENT_AUDIT.approvalApproverId]) ?? "" }, r.raw, `span:${r.spanId}:approval:${e.timeMs}`, { parent_event_id: callId });
          }
          const failed = r.status.code === 2 || a[ERROR_TYPE] !== undefined;
          add("tool_result", r.endMs, {
            tool_name: tool,
            tool_use_id: s(a[GEN_AI.toolCallId]) ?? null,
            outcome: failed ? "error" : "success",
            execution_time_ms: Math.round(r.endMs - r.startMs),
            ...(failed ? { error: { type: s(a[ERROR_TYPE]) ?? "error", message: r.status.message || "the tool failed" } } : { output: jsonOf(a[GEN_AI.toolCallResult]) ?? null }),
          }, r.raw, `span:${r.spanId}:result`, { parent_event_id: callId });
        } else if (r !== root) {
          add("otel_span", r.startMs, { name: r.name, operation: kind ?? null, duration_ms: Math.round(r.endMs - r.startMs) }, r.raw, `span:${r.spanId}`);
        }
      } else {
        this.addLog(it.r, add, () => ++step, () => step, started, () => (started = true));
      }
    }
    if (root) {
      const failed = root.status.code === 2;
      const end = s(root.attributes[AGENT_AUDIT.sessionEnd]);
      const type = end && /^session_(end|timeout|cancelled|error)$|^replay_diverged$/.test(end) ? end : failed ? "session_error" : "session_end";
      add(type, Math.max(root.endMs, ...spans.map((r) => r.endMs)), failed ? { error: { type: s(root.attributes[ERROR_TYPE]) ?? "error", message: root.status.message } } : { outcome: "completed" }, root.raw, `span:${root.spanId}:end`);
      events[events.length - 1].step_number = step;
    }
    return events;
  }

  /** A group's records kept whole, each as an otel_span/otel_log with the reason they could not be mapped. */
  unmappedEvents(group: string, items: Staged[], reason: string): EventInput[] {
    const { reader, claimed } = this;
    const service = serviceOf(items[0].r.resource);
    const { id: sessionId } = ownedSessionId(group, service, reader, claimed, (id) => reader.getSession(id));
    return items.map((x) => {
      const body = this.rawJson(x.r.raw) ?? JSON.stringify(x.r.raw ?? null);
      const hash = createHash("sha256").update(body).digest("hex");
      const arrived = new Date(x.at ?? Date.now()).toISOString();
      return {
        session_id: sessionId,
        agent_id: receivedAgentId(service),
        event_type: x.kind === "log" ? "otel_log" : "otel_span",
        timestamp: isoTime(time(x)) ?? arrived,
        event_id: eventIdFor(sessionId, hash, "unmapped"),
        content: { name: recordName(x), unmapped: { reason }, received: { via: "otlp", service, received_at: arrived, record: hash } },
        blobs: [{ kind: "otlp", body }],
      };
    });
  }

  /** Claude Code's log events (https://docs.anthropic.com/en/docs/claude-code/monitoring-usage) as trail events. */
  private addLog(
    r: ReceivedLogRecord,
    add: (type: string, at: number, content: Record<string, unknown>, raw: unknown, role: string, extra?: Partial<EventInput>) => void,
    nextStep: () => number,
    currentStep: () => number,
    started: boolean,
    markStarted: () => void,
  ): void {
    const a = r.attributes;
    const name = s(a["event.name"]) ?? s(r.body) ?? "";
    const event = name.replace(/^claude_code\./, "");
    const role = `log:${r.timeMs}:${createHash("sha256").update(JSON.stringify(r.raw)).digest("hex").slice(0, 16)}`;
    if (event === "user_prompt") {
      const prompt = s(a.prompt) ?? `(a prompt of ${n(a.prompt_length) ?? "?"} characters; Claude Code sends its text only with OTEL_LOG_USER_PROMPTS=1)`;
      if (!started) {
        add("session_start", r.timeMs, { task: prompt, source: { protocol: "otlp", service: s(r.resource["service.name"]) ?? "claude-code", event: name } }, r.raw, role);
        markStarted();
      } else add("user_prompt", r.timeMs, { prompt }, r.raw, role);
      return;
    }
    if (!started) {
      add("session_start", r.timeMs, { task: `${s(r.resource["service.name"]) ?? "agent"} session ${s(a["session.id"]) ?? ""}`.trim(), source: { protocol: "otlp", event: name } }, r.raw, `${role}:start`);
      markStarted();
    }
    if (event === "api_request" || event === "api_error") {
      nextStep();
      const failed = event === "api_error";
      add("llm_call", r.timeMs, {
        request: { model: s(a.model) ?? null },
        usage: { input_tokens: n(a.input_tokens) ?? 0, output_tokens: n(a.output_tokens) ?? 0, cache_read_input_tokens: n(a.cache_read_tokens) ?? 0, cache_creation_input_tokens: n(a.cache_creation_tokens) ?? 0 },
        latency_ms: n(a.duration_ms) ?? null,
        cost_usd: n(a.cost_usd) ?? null,
        ...(failed ? { error: { type: s(a.status_code) ? `http_${a.status_code}` : "api_error", message: s(a.error) ?? "API error" } } : {}),
      }, r.raw, role, { model_id: s(a.model) ?? null });
    } else if (event === "tool_decision") {
      const decision = s(a.decision) === "reject" ? "rejected" : s(a.decision) === "accept" ? "approved" : s(a.decision) ?? "unknown";
      if (currentStep() === 0) nextStep();
      add("approval", r.timeMs, { tool_name: s(a.tool_name) ?? "tool", decision, approval_status: decision, approver_id: s(a.source) ?? "", source: s(a.source) ?? null }, r.raw, role);
    } else if (event === "tool_result") {
      if (currentStep() === 0) nextStep();
      const ok = a.success === true || a.success === "true";
      const tool = s(a.tool_name) ?? "tool";
      const duration = n(a.duration_ms) ?? 0;
      add("tool_call", r.timeMs - duration, { tool_name: tool, input: jsonOf(a.tool_parameters) ?? null, requires_approval: false }, r.raw, `${role}:call`);
      add("tool_result", r.timeMs, {
        tool_name: tool,
        outcome: ok ? "success" : "error",
        execution_time_ms: duration,
        ...(ok ? {} : { error: { type: "tool_error", message: s(a.error) ?? "the tool failed" } }),
      }, r.raw, `${role}:result`);
    } else {
      add("otel_log", r.timeMs, { name, attributes: a }, r.raw, role);
    }
  }
}

function time(x: Staged): number {
  return x.kind === "span" ? x.r.startMs : x.r.timeMs;
}

function op(r: ReceivedSpanRecord): string | undefined {
  return s(r.attributes[GEN_AI.operationName]) ?? (/^(chat|execute_tool|invoke_agent)\b/.exec(r.name)?.[1]);
}

/** A JSON text an attribute carries, parsed; kept as the text when it is not JSON or nested too deep to store as JSON. */
function jsonOf(v: unknown): unknown {
  if (typeof v !== "string") return v;
  if (jsonTextDepth(v, MAX_JSON_ATTRIBUTE_DEPTH) > MAX_JSON_ATTRIBUTE_DEPTH) return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function textOf(messages: unknown): string {
  const parsed = jsonOf(messages);
  if (!Array.isArray(parsed)) return "";
  return parsed
    .flatMap((m: { parts?: { type?: string; content?: unknown }[] }) => (m.parts ?? []).filter((p) => p.type === "text").map((p) => String(p.content ?? "")))
    .join("\n");
}

/** Deeper JSON in an attribute (tool arguments, messages) is kept as text. */
const MAX_JSON_ATTRIBUTE_DEPTH = 64;

/** A claimed time (ms) as ISO-8601, or undefined when it is no date (NaN, beyond year 9999). */
function isoTime(ms: number): string | undefined {
  const d = new Date(ms);
  return Number.isFinite(ms) && ms >= 0 && ms <= 253402300799999 ? d.toISOString() : undefined;
}

function recordName(x: Staged): string {
  return x.kind === "span" ? x.r.name : s(x.r.attributes["event.name"]) ?? s(x.r.body) ?? "log";
}
