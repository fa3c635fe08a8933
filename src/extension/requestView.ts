import type { Database } from "sql.js";
import type { RequestBlockView, RequestMessageView, RequestView } from "../shared/protocol";
import { ConversationError, requestMessages } from "../trail/reading/conversation";
import type { TrailEventRow } from "../trail/reading/trailQueries";
import { getBlob } from "../trail/reading/trailQueries";

/**
 * What a model call was given, from its llm_call event: the system prompt, the tools offered
 * and the conversation exactly as sent (rebuilt from the blobs), with the messages that are new
 * since `previous` (the session's model call before it) marked, and each block tagged with who
 * wrote it. Tool results are text from outside the conversation (a file, a command's output):
 * that is where injected instructions come from, so they are told apart from the user's words.
 */
export function toRequestView(db: Database, llm: TrailEventRow, previous?: TrailEventRow): RequestView {
  const request = (JSON.parse(llm.content).request ?? {}) as Record<string, unknown>;
  const view: RequestView = {
    eventId: llm.event_id,
    model: typeof request.model === "string" ? request.model : llm.model_id,
    maxTokens: typeof request.max_tokens === "number" ? request.max_tokens : null,
    messages: [],
  };
  const systemHash = typeof request.system_prompt_hash === "string" ? request.system_prompt_hash : llm.system_prompt_hash;
  const system = systemHash ? getBlob(db, systemHash) : undefined;
  if (systemHash && system !== undefined) view.systemPrompt = { hash: systemHash, text: system };
  const toolsHash = typeof request.tools_hash === "string" ? request.tools_hash : undefined;
  const tools = toolsHash ? getBlob(db, toolsHash) : undefined;
  if (toolsHash && tools !== undefined) {
    const list = JSON.parse(tools) as { name?: string }[];
    view.tools = { hash: toolsHash, names: list.map((t) => String(t.name)), json: JSON.stringify(list, null, 2) };
  }
  const missing: string[] = [];
  if (systemHash && system === undefined) missing.push(`the system prompt blob ${systemHash} is missing`);
  if (toolsHash && tools === undefined) missing.push(`the tool list blob ${toolsHash} is missing`);
  let messages: { message: unknown }[] = [];
  try {
    messages = requestMessages(db, request);
  } catch (err) {
    if (!(err instanceof ConversationError)) throw err;
    missing.push(err.message);
  }
  const sentBefore = previous ? sentCount(JSON.parse(previous.content).request ?? {}) : 0;
  const toolNames = new Map<string, string>();
  view.messages = messages.map(({ message }, index): RequestMessageView => {
    const m = (message ?? {}) as { role?: unknown; content?: unknown };
    const role = String(m.role ?? "?");
    const parts = typeof m.content === "string" ? [{ type: "text", text: m.content }] : Array.isArray(m.content) ? (m.content as Record<string, unknown>[]) : [];
    return { index, role, isNew: index >= sentBefore, blocks: parts.map((p) => toBlock(p, role, toolNames)) };
  });
  if (missing.length) view.error = `Part of this request cannot be rebuilt: ${missing.join("; ")}. Run "agent-audit verify".`;
  return view;
}

/** How many messages a request sent (either record format). */
function sentCount(request: Record<string, unknown>): number {
  if (Array.isArray(request.message_hashes)) return request.message_hashes.length;
  return typeof request.message_count === "number" ? request.message_count : 0;
}

function toBlock(p: Record<string, unknown>, role: string, toolNames: Map<string, string>): RequestBlockView {
  switch (p.type) {
    case "text":
      return { kind: "text", text: String(p.text ?? ""), source: role === "assistant" ? "model" : "user" };
    case "thinking":
      return { kind: "thinking", text: String(p.thinking ?? ""), source: "model" };
    case "tool_use": {
      const id = String(p.id ?? "");
      const name = String(p.name ?? "");
      toolNames.set(id, name);
      return { kind: "tool_use", text: JSON.stringify(p.input ?? null, null, 2), source: "model", name, id };
    }
    case "tool_result": {
      const id = String(p.tool_use_id ?? "");
      const content = typeof p.content === "string" ? p.content : JSON.stringify(p.content ?? null, null, 2);
      return { kind: "tool_result", text: content, source: "tool", name: toolNames.get(id), id, isError: p.is_error === true };
    }
    default:
      return { kind: "other", text: JSON.stringify(p, null, 2), source: role === "assistant" ? "model" : "user" };
  }
}
