import type { Database } from "sql.js";
import type { TrailEventRow } from "../trail/reading/trailQueries";
import { getEvent, getEventWithLinks } from "../trail/reading/trailQueries";
import { TrailReader } from "../trail/reading/trailReader";
import type { TrailStore } from "../trail/store/trailStore";
import type { AgentConfig, ApprovalHandler, RetryRequest, RetryResult } from "./agentTypes";
import type { ApprovalRecord } from "./approvals";
import { askApproval } from "./approvals";
import { receivedFrom, receivedRefusal } from "./receivedSessions";
import { SecretRedactor } from "./secretRedactor";
import { executeTool, executionContent, withOutputDigest } from "./toolExecution";
import type { ApprovalPolicy } from "./tools/toolSet";
import { defaultPolicy, workspaceTools } from "./tools/toolSet";

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
  let approval: ApprovalRecord | undefined;
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
      const asked = await askApproval(req.approve, { toolName, tool: t, input: i, ctx, step: call.step_number, signal: req.signal, prefix: "retry: " });
      approval = asked.record;
      return asked.decision;
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

/**
 * A recorded tool call, read from the segment that holds it (a sealed one, or the active
 * one): the database to retry it from, and the tool_call itself (given its tool_result's id too).
 */
export function recordedToolCall(store: TrailStore, eventId: string): { db: Database; call: TrailEventRow | undefined } {
  const reader = new TrailReader(store);
  const session = reader.sessionOfEvent(eventId);
  const db = session ? reader.sessionDatabase(session) : store.database;
  const found = getEvent(db, eventId);
  const call = found?.event_type === "tool_result" && found.parent_event_id ? getEvent(db, found.parent_event_id) : found;
  return { db, call };
}

/**
 * The retry the CLI and the extension run: the agent's workspace tools and secret redactor,
 * the configuration's policy, limits and identity, into the store the call is recorded in.
 */
export function retryAsAgent(o: {
  store: TrailStore;
  /** Where the call is recorded (recordedToolCall). */
  db: Database;
  eventId: string;
  input?: Record<string, unknown>;
  workspaceRoot: string;
  config: Pick<AgentConfig, "policy" | "maxOutputBytes" | "commandEnv" | "agentId" | "agentVersion" | "userId">;
  approve: ApprovalHandler;
  signal: AbortSignal;
}): Promise<RetryResult> {
  const c = o.config;
  return retryToolCall({
    db: o.db,
    eventId: o.eventId,
    input: o.input,
    workspaceRoot: o.workspaceRoot,
    tools: workspaceTools(),
    policy: c.policy,
    approve: o.approve,
    trail: o.store,
    signal: o.signal,
    maxOutputBytes: c.maxOutputBytes,
    commandEnv: c.commandEnv,
    identity: { agentId: c.agentId, agentVersion: c.agentVersion, userId: c.userId },
    redactor: new SecretRedactor(),
  });
}
