import * as vscode from "vscode";
import type { FileChange } from "../agent/tools/toolDefinition";
import type { ApprovalUi } from "./approvalFlow";
import { Disposable } from "./disposable";
import { HIDDEN_NOTICE, hasHidden, revealHidden } from "../shared/hiddenText";

const CHANGE_SCHEME = "agent-audit-change";

interface Pending {
  message: string;
  detail: string;
  buttons: string[];
  change?: FileChange;
  answer(choice: string | undefined): void;
}

/**
 * Approvals in VS Code. The question shows the whole thing: the full command line, and a file
 * change in VS Code's diff editor (two read-only virtual documents: the file now and as it
 * would be), never a clipped preview. A modal dialog is the default; a notification, which
 * VS Code may tuck away into the notification centre, is not the only place a pending approval
 * lives: `agentAudit.showPendingApproval` (the status bar item while one waits) asks again.
 */
export class VscodeApprovalPrompt extends Disposable implements ApprovalUi, vscode.TextDocumentContentProvider {
  private pending: Pending | undefined;
  private readonly contents = new Map<string, string>();
  private nextId = 0;
  private readonly changed = new vscode.EventEmitter<boolean>();
  /** Fires true when an approval starts waiting, false when it is answered. */
  readonly onDidChangePending = this.changed.event;

  constructor() {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(CHANGE_SCHEME, this));
    this.register(vscode.commands.registerCommand("agentAudit.showPendingApproval", () => this.showPending()));
    this.register(this.changed);
  }

  get isPending(): boolean {
    return this.pending !== undefined;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? "";
  }

  async ask(message: string, detail: string, modal: boolean, buttons: string[], change?: FileChange): Promise<string | undefined> {
    if (change) await this.showDiff(change);
    try {
      return await new Promise<string | undefined>((resolve) => {
        let done = false;
        const answer = (choice: string | undefined) => {
          if (done) return;
          done = true;
          this.pending = undefined;
          this.changed.fire(false);
          resolve(choice);
        };
        this.pending = { message, detail, buttons, change, answer };
        this.changed.fire(true);
        void this.prompt(message, detail, modal, buttons, change).then(answer, () => answer(undefined));
      });
    } finally {
      if (change) await this.closeDiffs();
    }
  }

  async editJson(title: string, json: string, validate: (text: string) => string | undefined): Promise<string | undefined> {
    return vscode.window.showInputBox({ title, value: json, prompt: "Edit the tool input (JSON). What you enter is what runs and what is recorded.", ignoreFocusOut: true, validateInput: validate });
  }

  /** Asks the waiting question again, as a modal dialog; its answer settles the approval. */
  private async showPending(): Promise<void> {
    const p = this.pending;
    if (!p) {
      void vscode.window.showInformationMessage("No approval is waiting.");
      return;
    }
    if (p.change && !this.diffTabs().length) await this.showDiff(p.change); // closed meanwhile: open it again
    const choice = await vscode.window.showWarningMessage(p.message, { modal: true, detail: p.detail }, ...p.buttons);
    // Dismissing this second prompt leaves the first one waiting: only an answer settles it.
    if (choice !== undefined) p.answer(choice);
  }

  private prompt(message: string, detail: string, modal: boolean, buttons: string[], change?: FileChange): Thenable<string | undefined> {
    const where = change ? `\n(The whole change to ${revealHidden(change.path).text} is open in the diff editor.)` : "";
    if (modal) return vscode.window.showWarningMessage(message, { modal: true, detail: detail + where }, ...buttons);
    // A notification has no detail area: the whole summary follows the question (VS Code
    // shows it in full when the notification is expanded), nothing is cut.
    return vscode.window.showWarningMessage(`${message}: ${detail.replace(/\n/g, "  ⏎  ")}${where}`, ...buttons);
  }

  private async showDiff(change: FileChange): Promise<void> {
    const id = ++this.nextId;
    // The path and the labels are the model's text too: escaped like the dialog. The proposed
    // side is shown escaped when it holds hidden characters (the editor may render a bidi
    // override as reordered text, a zero-width space as nothing), and its label says so.
    const shownPath = revealHidden(change.path).text;
    const left = vscode.Uri.from({ scheme: CHANGE_SCHEME, path: `/${shownPath}`, query: `now-${id}` });
    const right = vscode.Uri.from({ scheme: CHANGE_SCHEME, path: `/${shownPath}`, query: `proposed-${id}` });
    const hidden = hasHidden(change.after);
    this.contents.set(left.toString(), change.before ?? "");
    this.contents.set(right.toString(), hidden ? `${HIDDEN_NOTICE}\n${revealHidden(change.after).text}` : change.after);
    const title = `${shownPath}: ${change.before === null ? "new file" : "now"} ↔ proposed by the agent${hidden ? " (hidden characters shown escaped)" : ""} (awaiting your approval)`;
    await vscode.commands.executeCommand("vscode.diff", left, right, title, { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.Beside });
  }

  /** Closes the diff editors an approval opened and forgets their text. */
  private async closeDiffs(): Promise<void> {
    const ours = this.diffTabs();
    if (ours.length) await vscode.window.tabGroups.close(ours, true).then(undefined, () => undefined);
    this.contents.clear();
  }

  private diffTabs(): vscode.Tab[] {
    return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.scheme === CHANGE_SCHEME);
  }

  override dispose(): void {
    this.pending?.answer(undefined);
    super.dispose();
  }
}
