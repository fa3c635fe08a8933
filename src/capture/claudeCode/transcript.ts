import { createHash } from "node:crypto";
import { readOpenFile } from "../../trail/store/safeFiles";
import * as fs from "node:fs";
import { deeperThan, isSafeId } from "./hookRecord";

/**
 * Claude Code's transcript (`transcript_path`, JSONL under ~/.claude/projects/<project>/):
 * one JSON object a line; `user` and `assistant` entries carry the API messages. An assistant
 * message is written one content block a line, each line repeating the message's id, model and
 * usage, so a model call is the lines of one `message.id`. Tool results come back in `user`
 * entries as `tool_result` blocks, with Claude Code's own structured result in `toolUseResult`.
 * Read bounded, and every line that is not what it should be is skipped and counted.
 */
export interface TranscriptToolUse {
  id: string;
  name: string;
  input: unknown;
}

export interface TranscriptModelCall {
  message_id: string;
  model: string | null;
  requested_model: string | null;
  timestamp: string | null;
  /** Thinking, text and tool_use blocks, in order. */
  content: Record<string, unknown>[];
  stop_reason: string | null;
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number };
  tool_uses: TranscriptToolUse[];
  /** From the request Claude Code logged (`api-request`) to the message's last line, when both are there. */
  latency_ms: number | null;
  request_ref: string | null;
  last_at: string | null;
}

/** How Claude Code decided that a tool call could run (`permissionDecision`): a rule, a mode, or you. */
export interface TranscriptPermission {
  decision: string;
  source: string | null;
  reason_type: string | null;
  rule_source: string | null;
}

export interface TranscriptToolResult {
  tool_use_id: string;
  timestamp: string | null;
  is_error: boolean;
  /** What the model was given, as text. */
  content: string;
  /** Claude Code's structured result (toolUseResult). */
  result: unknown;
  permission: TranscriptPermission | null;
}

export type TranscriptItem = { kind: "prompt"; text: string; prompt_id: string | null; timestamp: string | null } | { kind: "model_call"; call: TranscriptModelCall };

export interface Transcript {
  file: string;
  sha256: string;
  bytes: number;
  version: string | null;
  session_id: string | null;
  cwd: string | null;
  items: TranscriptItem[];
  results: Map<string, TranscriptToolResult>;
  skipped: number;
}

export const MAX_TRANSCRIPT_BYTES = 256 * 1024 * 1024;
const MAX_LINE_DEPTH = 100;

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

/** The SHA-256 of a file's first `bytes` bytes (whether a transcript was edited since an import saw that much of it). */
export function prefixSha256(file: string, bytes: number): string | undefined {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
    try {
      const buf = Buffer.alloc(Math.min(bytes, MAX_TRANSCRIPT_BYTES));
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return n === bytes ? createHash("sha256").update(buf).digest("hex") : undefined;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Reads a transcript file: a regular file of this user's (no link followed, no FIFO waited on), bounded. */
export function readTranscriptFile(file: string): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw new Error(`${file} belongs to another user (uid ${st.uid})`);
    if (st.size > MAX_TRANSCRIPT_BYTES) throw new Error(`${file} is larger than ${MAX_TRANSCRIPT_BYTES / 1024 / 1024} MB`);
    return readOpenFile(fd, st.size);
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses a transcript's bytes (only complete lines: a line being written is left for the next import). */
export function parseTranscript(file: string, bytes: Buffer): Transcript {
  const end = bytes.lastIndexOf(0x0a) + 1;
  const whole = bytes.subarray(0, end);
  const t: Transcript = { file, sha256: createHash("sha256").update(whole).digest("hex"), bytes: end, version: null, session_id: null, cwd: null, items: [], results: new Map(), skipped: 0 };
  const calls = new Map<string, TranscriptModelCall>();
  const requests = new Map<string, string>();
  for (const line of whole.toString("utf8").split("\n")) {
    if (!line.trim()) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      t.skipped++;
      continue;
    }
    if (!e || typeof e !== "object" || deeperThan(e, MAX_LINE_DEPTH)) {
      t.skipped++;
      continue;
    }
    if (e.type === "api-request" && typeof e.id === "string" && typeof e.timestamp === "string") requests.set(e.id, e.timestamp);
    if (e.type !== "user" && e.type !== "assistant") continue;
    // A subagent's lines (isSidechain) belong to its own conversation, not to this one's calls.
    if (e.isSidechain === true) continue;
    t.version ??= str(e.version);
    t.session_id ??= isSafeId(e.sessionId) ? e.sessionId : null;
    t.cwd ??= str(e.cwd);
    const m = e.message as Record<string, unknown> | undefined;
    if (!m || typeof m !== "object") {
      t.skipped++;
      continue;
    }
    const timestamp = str(e.timestamp);
    if (e.type === "assistant") {
      const id = str(m.id);
      if (!id) {
        t.skipped++;
        continue;
      }
      let call = calls.get(id);
      if (!call) {
        const u = (m.usage ?? {}) as Record<string, unknown>;
        call = {
          message_id: id,
          model: str(m.model),
          requested_model: str(e.requestedModel),
          timestamp,
          content: [],
          stop_reason: str(m.stop_reason),
          usage: { input_tokens: num(u.input_tokens), output_tokens: num(u.output_tokens), cache_read_input_tokens: num(u.cache_read_input_tokens), cache_creation_input_tokens: num(u.cache_creation_input_tokens) },
          tool_uses: [],
          latency_ms: null,
          request_ref: str(e.requestRef),
          last_at: timestamp,
        };
        calls.set(id, call);
        t.items.push({ kind: "model_call", call });
      }
      call.stop_reason = str(m.stop_reason) ?? call.stop_reason;
      call.last_at = timestamp ?? call.last_at;
      const asked = call.request_ref ? Date.parse(requests.get(call.request_ref) ?? "") : NaN;
      const answered = Date.parse(call.last_at ?? "");
      if (Number.isFinite(asked) && Number.isFinite(answered) && answered >= asked) call.latency_ms = answered - asked;
      for (const b of Array.isArray(m.content) ? (m.content as Record<string, unknown>[]) : []) {
        if (!b || typeof b !== "object") continue;
        if (b.type === "tool_use" && isSafeId(b.id) && !call.tool_uses.some((x) => x.id === b.id)) {
          call.tool_uses.push({ id: b.id, name: String(b.name ?? "tool").slice(0, 200), input: b.input ?? null });
          call.content.push({ type: "tool_use", id: b.id, name: String(b.name ?? "tool").slice(0, 200), input: b.input ?? null });
        } else if (b.type === "thinking") call.content.push({ type: "thinking", thinking: String(b.thinking ?? "") });
        else if (b.type === "redacted_thinking") call.content.push({ type: "redacted_thinking" });
        else if (b.type === "text") call.content.push({ type: "text", text: String(b.text ?? "") });
      }
      continue;
    }
    // A user entry: the prompt (plain text, not a meta line Claude Code adds itself), or tool results.
    if (typeof m.content === "string") {
      if (e.isMeta !== true && e.isCompactSummary !== true) t.items.push({ kind: "prompt", text: m.content, prompt_id: str(e.promptId), timestamp });
      continue;
    }
    const blocks = Array.isArray(m.content) ? (m.content as Record<string, unknown>[]).filter((b) => b && typeof b === "object") : [];
    // A prompt with an image or pasted text comes as blocks: its text is the prompt.
    if (blocks.length && !blocks.some((b) => b.type === "tool_result")) {
      const text = blocks.map((b) => (b.type === "text" ? String(b.text ?? "") : `[${String(b.type)}]`)).join("\n");
      if (e.isMeta !== true && e.isCompactSummary !== true) t.items.push({ kind: "prompt", text, prompt_id: str(e.promptId), timestamp });
      continue;
    }
    for (const b of blocks) {
      if (b.type !== "tool_result" || !isSafeId(b.tool_use_id)) continue;
      const pd = e.permissionDecision as Record<string, unknown> | undefined;
      const permission = pd && typeof pd === "object" && typeof pd.decision === "string" ? { decision: pd.decision.slice(0, 40), source: str(pd.source), reason_type: str(pd.reasonType), rule_source: str(pd.ruleSource) } : null;
      t.results.set(b.tool_use_id, { tool_use_id: b.tool_use_id, timestamp, is_error: b.is_error === true, content: resultText(b.content), result: e.toolUseResult ?? null, permission });
    }
  }
  return t;
}

/** A tool_result's content as text (a string, or the text of its blocks). */
function resultText(c: unknown): string {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((b) => (b && typeof b === "object" && (b as { type?: unknown }).type === "text" ? String((b as { text?: unknown }).text ?? "") : `[${String((b as { type?: unknown })?.type ?? "block")}]`)).join("\n");
  return c === undefined || c === null ? "" : JSON.stringify(c);
}
