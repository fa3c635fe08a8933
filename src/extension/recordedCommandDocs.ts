import * as vscode from "vscode";
import { Disposable } from "./disposable";

const SCHEME = "agent-audit-command";

/**
 * Read-only documents that show a command recorded in a trail (and what it did), so a user can
 * read and copy it. A virtual document cannot be run, saved over a file, or sent to a shell.
 */
export class RecordedCommandDocs extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();

  constructor() {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(SCHEME, this));
  }

  /** The document for one recorded run_command; open it with showTextDocument. */
  show(callEventId: string, command: string, outcome: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/recorded command ${callEventId.slice(0, 8)}.txt`, query: callEventId });
    this.texts.set(uri.toString(), `${command}\n\n──── recorded outcome (from the audit trail; this command is not run) ────\n${outcome}\n`);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? "";
  }

  override dispose(): void {
    super.dispose();
    this.texts.clear();
  }
}
