import type { ApprovalDecision, ApprovalHandler } from "./agentTypes";
import { previewOf, redactedNote } from "./toolExecution";
import type { ToolContext, ToolDefinition } from "./tools/toolDefinition";

/** What an approval's record says of the answer: who gave it, when it was asked and answered, the edited input or the reason. */
export interface ApprovalRecord {
  approver_id: string;
  asked_at: string;
  answered_at: string;
  edited_input: Record<string, unknown> | undefined;
  reason: string | undefined;
}

/**
 * Asks for one tool call's approval, the same way for a session's call and for a retry: the
 * question carries the redaction note, the tool's summary of the call (after `prefix`) and,
 * for a file change, the whole change. Returns the answer and its record.
 */
export async function askApproval(
  approve: ApprovalHandler,
  q: { toolName: string; tool: ToolDefinition; input: Record<string, unknown>; ctx: ToolContext; step: number; signal: AbortSignal; prefix?: string },
): Promise<{ decision: ApprovalDecision; record: ApprovalRecord }> {
  const askedAt = new Date().toISOString();
  const summary = `${redactedNote(q.input)}${q.prefix ?? ""}${q.tool.summarize(q.input, q.ctx)}`;
  const d = await approve({ tool_name: q.toolName, input: q.input, summary, change: previewOf(q.tool, q.input, q.ctx), step: q.step, signal: q.signal });
  return {
    decision: d,
    record: {
      approver_id: d.approver_id,
      asked_at: askedAt,
      answered_at: new Date().toISOString(),
      edited_input: d.decision === "edited" ? d.input : undefined,
      reason: d.decision === "rejected" ? d.reason : undefined,
    },
  };
}
