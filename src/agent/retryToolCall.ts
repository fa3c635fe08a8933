import type { Database } from "sql.js";
import type { StoredEvent } from "../trail/eventTypes";
import { getEvent, getEventWithLinks } from "../trail/trailQueries";
import type { TrailEventRow } from "../trail/trailQueries";
import type { ApprovalHandler, TrailWriter } from "./agentRunner";
import { receivedFrom, receivedRefusal } from "./receivedSessions";
import type { SecretRedactor } from "./secretRedactor";
import type { ToolExecution } from "./toolExecution";
import { executeTool, executionContent, previewOf, redactedNote, withOutputDigest } from "./toolExecution";
import type { ToolDefinition } from "./tools/toolDefinition";
import type { ApprovalPolicy } from "./tools/toolSet";
import { defaultPolicy } from "./tools/toolSet";

export interface RetryRequest {
  /** The trail to look the original up in (an open store's database). */
  db: Database;
  /** The failed call's tool_call event id, or its tool_result's. */
  eventId: string;
  /** Run with this input instead of the original. */
  input?: Record<string, unknown>;
  workspaceRoot: string;
  tools: Map<string, ToolDefinition>;
  policy: Record<string, ApprovalPolicy>;
  approve: ApprovalHandler;
  trail: TrailWriter;
  signal: AbortSignal;
  maxOutputBytes: number;
  /** Extra environment variable names run_command passes on. */
  commandEnv?: readonly string[];
  identity: { agentId: string; agentVersion: string; userId: string };
  redactor?: SecretRedactor;
}

export interface RetryResult {
  event: StoredEvent;
  execution: ToolExecution;
  original: { call: TrailEventRow; result?: TrailEventRow };
}

/**
 * Runs a recorded tool call again, now, under the same approval policy, optionally with an
 * edited input, and appends one `tool_retry` event (its own result, who approved it) linked
 * to the original tool_call by parent_event_id. The original events are never touched. A
 * tool call received from another agent is refused: it is not ours to run.
 */
export async function retryToolCall(req: RetryRequest): Promise<RetryResult> {
  const found = getEvent(req.db, req.eventId);
  if (!found) throw new Error(`No event ${req.eventId} in this trail`);
  const call = found.event_type === "tool_call" ? found : found.parent_event_id ? getEvent(req.db, found.parent_event_id) : undefined;
  if (!call || call.event_type !== "tool_call") throw new Error(`Event ${req.eventId} is not a tool call or its result`);
  const sender = receivedFrom(req.db, call.session_id, call.content);
  if (sender) throw new Error(receivedRefusal(sender, "tool call"));
  const result = found.event_type === "tool_result" ? found : getEventWithLinks(req.db, call.event_id)?.children.find((c) => c.event_type === "tool_result");
  const original = JSON.parse(call.content) as { tool_name: string; input: Record<string, unknown> | null; raw_input?: string };
  const toolName = original.tool_name;
  const tool = req.tools.get(toolName);
  const policy: ApprovalPolicy = req.policy[toolName] ?? (tool ? defaultPolicy(tool.kind) : "deny");
  const input = req.input ?? original.input;
  if (!input) throw new Error(`The original ${toolName} call had malformed input (${original.raw_input ?? "?"}); give the input to use`);
  const ctx = { root: req.workspaceRoot, signal: req.signal, maxOutputBytes: req.maxOutputBytes, commandEnv: req.commandEnv };
  let approval: Record<string, unknown> | undefined;
  const execution = await executeTool({
    toolName,
    tool,
    input,
    availableTools: [...req.tools.keys()],
    policy,
    ctx,
    // An input given with the retry is the user's own; the original comes from the trail.
    recordedInput: req.input === undefined,
    ask: async (t, i) => {
      const askedAt = new Date().toISOString();
      const d = await req.approve({ tool_name: toolName, input: i, summary: `${redactedNote(i)}retry: ${t.summarize(i, ctx)}`, change: previewOf(t, i, ctx), step: call.step_number, signal: req.signal });
      approval = {
        approver_id: d.approver_id,
        asked_at: askedAt,
        answered_at: new Date().toISOString(),
        edited_input: d.decision === "edited" ? d.input : undefined,
        reason: d.decision === "rejected" ? d.reason : undefined,
      };
      return d;
    },
  });
  const resultContent = result ? (JSON.parse(result.content) as { outcome?: string; error?: { type?: string } }) : undefined;
  const content = {
    ...executionContent(execution, req.maxOutputBytes, false),
    input: execution.input,
    input_edited: req.input !== undefined || execution.approvalStatus === "edited",
    original_event_id: call.event_id,
    original_result_event_id: result?.event_id ?? null,
    original_outcome: resultContent?.outcome ?? null,
    original_error_type: resultContent?.error?.type ?? null,
    policy,
    ...approval,
  };
  const event = await req.trail.append({
    session_id: call.session_id,
    agent_id: req.identity.agentId,
    agent_version: req.identity.agentVersion,
    user_id: req.identity.userId,
    model_id: call.model_id,
    system_prompt_hash: call.system_prompt_hash,
    event_type: "tool_retry",
    step_number: call.step_number,
    parent_event_id: call.event_id,
    content: withOutputDigest(req.redactor ? await req.redactor.redact(content) : content),
  });
  return { event, execution, original: { call, result } };
}
