import { createHash } from "node:crypto";
import type { EventInput } from "../../trail/store/eventTypes";
import type { GapMarker } from "../hookSpool";
import type { HookPayload } from "./hookRecord";
import type { Transcript, TranscriptModelCall, TranscriptToolResult } from "./transcript";
import { bashFailure, outputText } from "./toolOutput";

/**
 * One Claude Code session as trail events, from what its hooks recorded and what its transcript
 * says, one event per fact: the prompt is the session's task, each model call (transcript) an
 * llm_call with its thinking, text, model and tokens, each tool call a tool_call and a
 * tool_result as the hooks saw them (full input and output), the end at SessionEnd. Ids derive
 * from the fact (the message id, the tool_use_id), so the same fact from a later import, or from
 * the hook and the transcript both, is the same event and is written once. Where a hooked
 * session's transcript holds a tool call its hooks did not record, the event comes from the
 * transcript and carries `capture_gap`: it was not observed live, and says so.
 */
export const AGENT_ID = "claude-code";
export const SESSION_PREFIX = "claude-code-";

export interface HookedRecord {
  payload: HookPayload;
  /** When the hook wrote it (ms). */
  at: number;
}

export interface SessionInput {
  /** Claude Code's session id (checked: a safe id). */
  sessionId: string;
  records: HookedRecord[];
  transcript?: Transcript;
  /** Why the transcript could not be read, when it could not. */
  transcriptProblem?: string;
  gaps: GapMarker[];
  /** Write the session's end (SessionEnd was recorded, or a finished transcript is imported). */
  ended: boolean;
}

export interface MappedSession {
  trailSessionId: string;
  events: EventInput[];
  gaps: number;
}

const sha = (v: string) => createHash("sha256").update(v).digest("hex");

/** A UUID-shaped event id from the session and the fact (the same fact gives the same id). */
export function factId(session: string, fact: string): string {
  const h = sha(`claude-code\n${session}\n${fact}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const iso = (ms: number | string | null | undefined): string | undefined => {
  const t = typeof ms === "string" ? Date.parse(ms) : ms;
  return typeof t === "number" && Number.isFinite(t) && t >= 0 && t <= 253402300799999 ? new Date(t).toISOString() : undefined;
};

const TOOL_EVENTS = new Set(["PreToolUse", "PostToolUse", "PostToolUseFailure"]);
const OTHER_EVENTS = new Set(["SubagentStart", "SubagentStop", "PreCompact", "Notification"]);

/** The trail events of one session, in the order things happened. */
export function mapSession(input: SessionInput): MappedSession {
  const { records, transcript: t } = input;
  const sid = `${SESSION_PREFIX}${input.sessionId}`;
  const hooked = records.length > 0;
  const version = t?.version ?? null;
  const byTool = new Map<string, { pre?: HookedRecord; post?: HookedRecord }>();
  for (const r of records) {
    if (!TOOL_EVENTS.has(r.payload.hook_event_name) || !r.payload.tool_use_id) continue;
    const slot = byTool.get(r.payload.tool_use_id) ?? {};
    if (r.payload.hook_event_name === "PreToolUse") slot.pre ??= r;
    else slot.post ??= r;
    byTool.set(r.payload.tool_use_id, slot);
  }
  const first = (name: string) => records.find((r) => r.payload.hook_event_name === name);
  const prompts = records.filter((r) => r.payload.hook_event_name === "UserPromptSubmit" && typeof r.payload.prompt === "string");
  const cwd = records.find((r) => r.payload.cwd)?.payload.cwd ?? t?.cwd ?? null;
  const transcriptPath = records.find((r) => r.payload.transcript_path)?.payload.transcript_path ?? t?.file ?? null;
  const base = { session_id: sid, agent_id: AGENT_ID, agent_version: version, user_id: "" };
  const events: EventInput[] = [];
  let step = 0;
  let gaps = 0;
  const totals = { steps: 0, input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, tool_calls: 0, failed_tool_calls: 0 };
  const viaHook = (r: HookedRecord) => ({ via: "claude-code-hook", service: AGENT_ID, hook_event: r.payload.hook_event_name, received_at: new Date(r.at).toISOString(), agent_version: version });
  const viaTranscript = () => ({ via: "claude-code-transcript", service: AGENT_ID, transcript: transcriptPath, transcript_sha256: t?.sha256 ?? null, agent_version: version });
  const add = (type: string, fact: string, content: Record<string, unknown>, at: string | undefined, extra: Partial<EventInput> = {}) => {
    const e: EventInput = { ...base, event_type: type, step_number: type === "session_start" ? 0 : step, event_id: factId(sid, fact), content, timestamp: at, ...extra };
    events.push(e);
    return e;
  };
  const gapReason = (event: string, toolUseId: string | undefined, near: string | undefined) => {
    const when = near ? Date.parse(near) : NaN;
    const m = input.gaps.find((g) => g.event === event && toolUseId && g.tool_use_id === toolUseId) ?? input.gaps.find((g) => g.event === event && (!g.session_id || g.session_id === input.sessionId) && !g.tool_use_id && Number.isFinite(when) && Math.abs(g.at - when) <= 15_000);
    return m ? `the ${event} hook ran but could not record: ${m.reason}` : `no ${event} hook record: the hook did not run, or its record was lost`;
  };

  // The task: the first prompt, as the hook saw it, else as the transcript has it.
  const transcriptPrompts = (t?.items ?? []).filter((i): i is Extract<typeof i, { kind: "prompt" }> => i.kind === "prompt");
  const firstHookPrompt = prompts[0];
  const firstPrompt = firstHookPrompt?.payload.prompt ?? transcriptPrompts[0]?.text;
  const startRecord = first("SessionStart") ?? firstHookPrompt;
  if (!firstPrompt && !t) return { trailSessionId: sid, events: [], gaps: 0 };
  const firstCall = (t?.items ?? []).find((i) => i.kind === "model_call") as { call: TranscriptModelCall } | undefined;
  add("session_start", "start", {
    task: firstPrompt ?? `(a Claude Code session with no prompt recorded)`,
    workspace: cwd,
    model_id: firstCall?.call.model ?? null,
    source: { agent: AGENT_ID, session_id: input.sessionId, transcript_path: transcriptPath, permission_mode: firstHookPrompt?.payload.permission_mode ?? null, start: first("SessionStart")?.payload.source ?? null },
    received: startRecord ? viaHook(startRecord) : viaTranscript(),
    ...(input.transcriptProblem ? { transcript_problem: input.transcriptProblem } : {}),
  }, iso(startRecord?.at) ?? iso(transcriptPrompts[0]?.timestamp), { model_id: firstCall?.call.model ?? null });

  const promptKey = (id: string | null | undefined, text: string) => `prompt:${id ?? sha(text).slice(0, 32)}`;
  const done = new Set<string>([promptKey(firstHookPrompt?.payload.prompt_id ?? transcriptPrompts[0]?.prompt_id, firstPrompt ?? "")]);
  const addPrompt = (text: string, id: string | null | undefined, at: string | undefined, r?: HookedRecord) => {
    const key = promptKey(id, text);
    if (done.has(key)) return;
    done.add(key);
    add("user_prompt", key, { prompt: text, prompt_id: id ?? null, received: r ? viaHook(r) : viaTranscript() }, at);
  };

  const toolDone = new Set<string>();
  const addTool = (id: string, name: string, transcriptInput: unknown, result: TranscriptToolResult | undefined, parent: string | null) => {
    toolDone.add(id);
    totals.tool_calls++;
    const { pre, post } = byTool.get(id) ?? {};
    const callId = factId(sid, `tool:${id}:call`);
    const callAt = iso(pre?.at) ?? iso(post ? post.at - (post.payload.duration_ms ?? 0) : undefined) ?? iso(result?.timestamp);
    const callContent: Record<string, unknown> = { tool_name: pre?.payload.tool_name ?? post?.payload.tool_name ?? name, tool_use_id: id, input: (pre ?? post)?.payload.tool_input ?? transcriptInput ?? null, requires_approval: false };
    if (pre) callContent.received = viaHook(pre);
    else {
      callContent.received = post ? viaHook(post) : viaTranscript();
      if (hooked) {
        gaps++;
        callContent.capture_gap = { missing: "PreToolUse", reason: gapReason("PreToolUse", id, callAt), filled_from: post ? "the PostToolUse hook record" : "the transcript" };
      }
    }
    add("tool_call", `tool:${id}:call`, callContent, callAt, { parent_event_id: parent });
    const permission = result?.permission;
    const denied = !!permission && /^(reject|deny|denied)$/i.test(permission.decision);
    if (permission) {
      const decision = /^(accept|allow)$/i.test(permission.decision) ? "approved" : denied ? "rejected" : permission.decision;
      add("approval", `tool:${id}:approval`, {
        tool_name: String(callContent.tool_name),
        decision,
        approval_status: decision,
        approver_id: permission.source === "user" ? "user" : `claude-code ${permission.source ?? "rule"}`,
        source: permission.source,
        reason_type: permission.reason_type,
        rule_source: permission.rule_source,
        received: viaTranscript(),
      }, iso(result?.timestamp), { parent_event_id: callId });
    }
    if (post) {
      const p = post.payload;
      const failed = p.hook_event_name === "PostToolUseFailure";
      if (failed) totals.failed_tool_calls++;
      const tool = String(callContent.tool_name);
      add("tool_result", `tool:${id}:result`, {
        tool_name: tool,
        tool_use_id: id,
        execution_time_ms: p.duration_ms ?? null,
        ...(failed
          ? { outcome: "error", error: bashFailure(tool, p.error ?? "", p.is_interrupt === true), is_interrupt: p.is_interrupt === true }
          : { outcome: "success", output: outputText(p.tool_response, result?.content), tool_response: p.tool_response ?? null }),
        received: viaHook(post),
      }, iso(post.at), { parent_event_id: callId });
    } else if (result) {
      if (result.is_error) totals.failed_tool_calls++;
      const content: Record<string, unknown> = {
        tool_name: String(callContent.tool_name),
        tool_use_id: id,
        ...(result.is_error ? { outcome: "error", error: bashFailure(String(callContent.tool_name), result.content, false) } : { outcome: "success", output: result.content, tool_response: result.result }),
        received: viaTranscript(),
      };
      // A call the permission check refused never ran: no PostToolUse hook was due.
      if (hooked && !denied) {
        gaps++;
        content.capture_gap = { missing: "PostToolUse", reason: gapReason(result.is_error ? "PostToolUseFailure" : "PostToolUse", id, result.timestamp ?? undefined), filled_from: "the transcript" };
      }
      add("tool_result", `tool:${id}:result`, content, iso(result.timestamp), { parent_event_id: callId });
    }
  };

  for (const item of t?.items ?? []) {
    if (item.kind === "prompt") {
      const r = prompts.find((p) => p.payload.prompt_id && p.payload.prompt_id === item.prompt_id);
      addPrompt(item.text, item.prompt_id, iso(r?.at) ?? iso(item.timestamp), r);
      continue;
    }
    const c = item.call;
    step++;
    totals.steps = step;
    totals.input_tokens += c.usage.input_tokens;
    totals.output_tokens += c.usage.output_tokens;
    totals.cache_read_input_tokens += c.usage.cache_read_input_tokens;
    totals.cache_creation_input_tokens += c.usage.cache_creation_input_tokens;
    const llm = add("llm_call", `llm:${c.message_id}`, {
      request: { model: c.requested_model ?? c.model },
      response: { id: c.message_id, model: c.model, content: c.content, stop_reason: c.stop_reason },
      output_text: c.content.filter((b) => b.type === "text").map((b) => String(b.text)).join("\n"),
      tool_calls_requested: c.tool_uses.map((u) => ({ id: u.id, name: u.name })),
      usage: c.usage,
      latency_ms: c.latency_ms,
      received: viaTranscript(),
    }, iso(c.timestamp), { model_id: c.model });
    for (const u of c.tool_uses) addTool(u.id, u.name, u.input, t?.results.get(u.id), llm.event_id ?? null);
  }
  // What the hooks saw and the transcript does not (yet) hold, in the order it happened.
  const rest = records.filter((r) => r.payload.hook_event_name === "UserPromptSubmit" || OTHER_EVENTS.has(r.payload.hook_event_name) || (r.payload.tool_use_id && !toolDone.has(r.payload.tool_use_id)));
  for (const r of rest) {
    const p = r.payload;
    if (p.hook_event_name === "UserPromptSubmit") addPrompt(p.prompt ?? "", p.prompt_id, iso(r.at), r);
    else if (p.tool_use_id && !toolDone.has(p.tool_use_id)) {
      if (!t) step++;
      addTool(p.tool_use_id, p.tool_name ?? "tool", p.tool_input, undefined, null);
    } else if (OTHER_EVENTS.has(p.hook_event_name)) {
      const { session_id: _s, transcript_path: _t, cwd: _c, hook_event_name, ...fields } = p;
      add("agent_event", `hook:${hook_event_name}:${sha(JSON.stringify(fields)).slice(0, 24)}:${r.at}`, { name: hook_event_name, fields, received: viaHook(r) }, iso(r.at));
    }
  }
  if (input.ended) {
    const end = first("SessionEnd");
    const stop = [...records].reverse().find((r) => r.payload.hook_event_name === "Stop");
    const lastText = [...(t?.items ?? [])].reverse().find((i) => i.kind === "model_call" && i.call.content.some((b) => b.type === "text"));
    add("session_end", "end", {
      outcome: "completed",
      final_text: stop?.payload.last_assistant_message ?? (lastText?.kind === "model_call" ? lastText.call.content.filter((b) => b.type === "text").map((b) => String(b.text)).join("\n") : ""),
      reason: end?.payload.reason ?? (end ? null : "imported from the transcript: how the session ended is not in it"),
      totals,
      received: end ? viaHook(end) : viaTranscript(),
    }, iso(end?.at) ?? iso(stop?.at) ?? undefined);
  }
  return { trailSessionId: sid, events, gaps };
}
