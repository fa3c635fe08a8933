/**
 * A Claude Code hook payload (https://code.claude.com/docs/en/hooks: the JSON on a hook's
 * stdin), checked. It is hostile input: tool output is in it, and a spooled record is a file
 * anything of the user's could have written. Ids become parts of trail ids and are held to a
 * fixed alphabet; nesting and sizes are bounded before anything walks the value.
 */
export interface HookPayload {
  hook_event_name: string;
  session_id: string;
  transcript_path?: string;
  cwd?: string;
  prompt?: string;
  prompt_id?: string;
  tool_name?: string;
  tool_use_id?: string;
  tool_input?: unknown;
  tool_response?: unknown;
  error?: string;
  is_interrupt?: boolean;
  duration_ms?: number;
  reason?: string;
  source?: string;
  last_assistant_message?: string;
  agent_id?: string;
  agent_type?: string;
  permission_mode?: string;
}

export const KNOWN_EVENTS = new Set([
  "SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "Stop",
  "SubagentStart", "SubagentStop", "SessionEnd", "PreCompact", "Notification",
]);

/** Claude Code's ids are UUIDs (sessions) and `toolu_…` (tool uses); anything else of this alphabet and length is taken as it is. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const MAX_DEPTH = 100;
const MAX_PATH = 4096;
const MAX_NAME = 200;

export type CheckedPayload = { ok: true; payload: HookPayload } | { ok: false; reason: string; event?: string; session_id?: string };

/** Whether a value nests deeper than `max` (walked without recursion, so depth itself cannot overflow the stack). */
export function deeperThan(v: unknown, max: number): boolean {
  const stack: { v: unknown; d: number }[] = [{ v, d: 0 }];
  while (stack.length) {
    const { v: x, d } = stack.pop()!;
    if (d > max) return true;
    if (x && typeof x === "object") for (const c of Object.values(x)) if (c && typeof c === "object") stack.push({ v: c, d: d + 1 });
  }
  return false;
}

/** True for an id that may become part of a trail id. */
export function isSafeId(v: unknown): v is string {
  return typeof v === "string" && ID.test(v);
}

const optString = (o: Record<string, unknown>, k: string, max: number): string | undefined | false => {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > max) return false;
  return v;
};

/** Parses and checks one payload. */
export function checkHookPayload(text: string): CheckedPayload {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: "it is not JSON" };
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return { ok: false, reason: "it is not a JSON object" };
  const o = v as Record<string, unknown>;
  const event = typeof o.hook_event_name === "string" && KNOWN_EVENTS.has(o.hook_event_name) ? o.hook_event_name : undefined;
  if (!event) return { ok: false, reason: `its hook_event_name is not one Claude Code sends (${JSON.stringify(String(o.hook_event_name).slice(0, 40))})` };
  if (!isSafeId(o.session_id)) return { ok: false, event, reason: "its session_id is not an id (letters, digits, - and _, at most 100)" };
  const session_id = o.session_id;
  if (deeperThan(o, MAX_DEPTH)) return { ok: false, event, session_id, reason: `it is nested deeper than ${MAX_DEPTH} levels` };
  if (o.tool_use_id !== undefined && !isSafeId(o.tool_use_id)) return { ok: false, event, session_id, reason: "its tool_use_id is not an id" };
  if ((event === "PreToolUse" || event === "PostToolUse" || event === "PostToolUseFailure") && o.tool_use_id === undefined) return { ok: false, event, session_id, reason: "a tool event without a tool_use_id" };
  const fields: [string, number][] = [["transcript_path", MAX_PATH], ["cwd", MAX_PATH], ["tool_name", MAX_NAME], ["prompt_id", MAX_NAME], ["reason", MAX_NAME], ["source", MAX_NAME], ["agent_id", MAX_NAME], ["agent_type", MAX_NAME], ["permission_mode", MAX_NAME]];
  for (const [k, max] of fields) if (optString(o, k, max) === false) return { ok: false, event, session_id, reason: `its ${k} is not a string of at most ${max} characters` };
  for (const k of ["prompt", "error", "last_assistant_message"]) if (o[k] !== undefined && o[k] !== null && typeof o[k] !== "string") return { ok: false, event, session_id, reason: `its ${k} is not a string` };
  if (o.duration_ms !== undefined && (typeof o.duration_ms !== "number" || !Number.isFinite(o.duration_ms))) return { ok: false, event, session_id, reason: "its duration_ms is not a number" };
  return { ok: true, payload: { ...(o as object), hook_event_name: event, session_id } as HookPayload };
}
