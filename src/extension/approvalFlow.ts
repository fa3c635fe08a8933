import type { ApprovalDecision, ApprovalHandler, ApprovalRequest } from "../agent/agentTypes";
import type { FileChange } from "../agent/tools/toolDefinition";
import { approvalDisplay, revealHidden } from "../shared/hiddenText";

/** The few UI calls an approval needs (VS Code's in the extension, a fake in tests). */
export interface ApprovalUi {
  /** Shows the question; resolves with the button chosen, or undefined when dismissed. */
  ask(message: string, detail: string, modal: boolean, buttons: string[], change?: FileChange): Promise<string | undefined>;
  /** Lets the user edit JSON text; undefined when they cancel. `validate` returns an error or undefined. */
  editJson(title: string, json: string, validate: (text: string) => string | undefined): Promise<string | undefined>;
}

export const APPROVE = "Approve";
export const REJECT = "Reject";
export const EDIT = "Edit…";

/**
 * Approval through the editor UI: Approve, Reject, or Edit… the input as JSON (what is
 * edited is what runs and what is recorded). Dismissing the prompt or cancelling the edit is
 * a rejection: nothing runs without an explicit yes.
 */
export function editorApprovalHandler(ui: ApprovalUi, approverId: string, modal: () => boolean): ApprovalHandler {
  return async (req: ApprovalRequest): Promise<ApprovalDecision> => {
    const message = `Agent wants to run ${revealHidden(req.tool_name).text} (step ${req.step})`;
    // A dialog shows a `\r`, a bidi override or a zero-width space as nothing (or reorders
    // the text around it): the summary is shown escaped, and flagged, so what is approved is
    // what runs.
    const shown = approvalDisplay(req.summary, req.input);
    const detail = shown.notice ? `${shown.notice}\n\n${shown.text}` : shown.text;
    const choice = await ui.ask(message, detail, modal(), [APPROVE, EDIT, REJECT], req.change);
    if (req.signal.aborted) return { decision: "rejected", approver_id: approverId, reason: "session cancelled" };
    if (choice === APPROVE) return { decision: "approved", approver_id: approverId };
    if (choice === EDIT) {
      // Escaped as JSON escapes (the same value once parsed): a bidi override would reorder the box's text.
      const text = await ui.editJson(`Edit the input of ${req.tool_name}`, revealHidden(JSON.stringify(req.input)).text, validateJsonObject);
      if (text === undefined) return { decision: "rejected", approver_id: approverId, reason: "edit cancelled" };
      return { decision: "edited", approver_id: approverId, input: JSON.parse(text) as Record<string, unknown> };
    }
    return { decision: "rejected", approver_id: approverId, reason: choice === REJECT ? undefined : "prompt dismissed" };
  };
}

export function validateJsonObject(text: string): string | undefined {
  try {
    const v = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) return "The input must be a JSON object, e.g. {\"path\": \"a.txt\"}";
    return undefined;
  } catch (err) {
    return `Not valid JSON: ${(err as Error).message}`;
  }
}
