import * as path from "node:path";
import * as vscode from "vscode";
import { agentConfig, osUser } from "../agent/agentDefaults";
import { replaySession } from "../agent/replaySession";
import { retryToolCall } from "../agent/retryToolCall";
import { SecretRedactor } from "../agent/secretRedactor";
import { workspaceTools } from "../agent/tools/toolSet";
import { renderSessionDiff } from "../shared/diffText";
import { diffSessions } from "../trail/sessionDiff";
import { getEvent, getEventWithLinks } from "../trail/trailQueries";
import { editorApprovalHandler, validateJsonObject } from "./approvalFlow";
import { vscodeApprovalUi } from "./agentRunController";
import type { Logger } from "./logger";
import type { TreeNode } from "./sessionsTreeModel";
import { readSettings, SETTINGS } from "./settings";
import type { TrailService } from "./trailService";

const DIFF_SCHEME = "agent-audit-diff";

/**
 * Debugging failed tool calls: retry one (optionally with an edited input), reveal what it
 * touched, replay a session against the current workspace, compare two sessions.
 */
export class DebuggingCommands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly diffs = new Map<string, string>();

  constructor(
    private readonly services: () => TrailService[],
    private readonly log: Logger,
    private readonly openDetails: (folder: string, sessionId: string, step: number) => void,
    private readonly selection: () => readonly TreeNode[],
  ) {
    const callOf = (node?: TreeNode | { folder: string; callEventId: string }) => {
      const n = node ?? this.selection()[0];
      if (!n) return undefined;
      if ("callEventId" in n && !("kind" in n)) return n;
      const t = n as TreeNode;
      if (t.kind === "toolCall") return { folder: t.folder, callEventId: t.eventId };
      if (t.kind === "retry") return { folder: t.folder, callEventId: t.callEventId };
      return undefined;
    };
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(DIFF_SCHEME, { provideTextDocumentContent: (uri) => this.diffs.get(uri.toString()) ?? "" }),
      vscode.commands.registerCommand("agentAudit.retryToolCall", (node?: TreeNode) => {
        const c = callOf(node);
        return c && this.retry(c.folder, c.callEventId, false);
      }),
      vscode.commands.registerCommand("agentAudit.retryToolCallWithInput", (node?: TreeNode) => {
        const c = callOf(node);
        return c && this.retry(c.folder, c.callEventId, true);
      }),
      vscode.commands.registerCommand("agentAudit.revealToolCall", (node?: TreeNode) => {
        const c = callOf(node);
        return c && this.reveal(c.folder, c.callEventId);
      }),
      vscode.commands.registerCommand("agentAudit.replaySession", (node?: TreeNode) => {
        const n = node ?? this.selection()[0];
        if (n && n.kind === "session") return this.replay(n.folder, n.sessionId);
        void vscode.window.showInformationMessage("Select a session in the Sessions view to replay it.");
        return undefined;
      }),
      vscode.commands.registerCommand("agentAudit.compareSessions", (_node?: TreeNode, nodes?: TreeNode[]) => {
        const picked = (nodes?.length ? nodes : this.selection()).filter((n): n is Extract<TreeNode, { kind: "session" }> => n.kind === "session");
        if (picked.length !== 2 || picked[0].folder !== picked[1].folder) {
          void vscode.window.showInformationMessage("Select two sessions of the same folder in the Sessions view (Ctrl/Cmd-click), then Compare Sessions.");
          return undefined;
        }
        return this.compare(picked[0].folder, picked[1].sessionId, picked[0].sessionId);
      }),
    );
  }

  private service(folder: string): TrailService | undefined {
    return this.services().find((s) => s.source.key === folder);
  }

  /** Runs a recorded tool call again now, under the same approval policy; records a tool_retry. */
  async retry(folder: string, callEventId: string, edit: boolean): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage("Tool calls cannot be retried in an untrusted workspace.");
      return;
    }
    const service = this.service(folder);
    if (!service) return;
    const store = await service.openForWriting();
    const call = getEvent(store.database, callEventId);
    if (!call) return;
    const original = JSON.parse(call.content);
    let input: Record<string, unknown> | undefined;
    if (edit) {
      const text = await vscode.window.showInputBox({
        title: `Retry ${original.tool_name} with this input`,
        value: JSON.stringify(original.input ?? {}),
        prompt: "Edit the tool input (JSON). The retry is recorded with it; the original stays as it was.",
        validateInput: validateJsonObject,
        ignoreFocusOut: true,
      });
      if (text === undefined) return;
      input = JSON.parse(text);
    }
    const settings = readSettings(vscode.workspace.getConfiguration(SETTINGS.section, service.folder.uri));
    const cfg = agentConfig({ policy: settings.approvalPolicy, maxOutputBytes: settings.maxToolOutputBytes });
    const approve = editorApprovalHandler(vscodeApprovalUi, `vscode:${osUser()}`, () => settings.modalApprovals);
    try {
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Retrying ${original.tool_name}`, cancellable: true },
        (_p, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          return retryToolCall({
            db: store.database,
            eventId: callEventId,
            input,
            workspaceRoot: service.folder.uri.fsPath,
            tools: workspaceTools(),
            policy: cfg.policy,
            approve,
            trail: store,
            signal: controller.signal,
            maxOutputBytes: cfg.maxOutputBytes,
            identity: { agentId: cfg.agentId, agentVersion: cfg.agentVersion, userId: cfg.userId },
            redactor: new SecretRedactor(),
          });
        },
      );
      const c = JSON.parse(r.event.content);
      this.log.info(`retried ${original.tool_name} (${callEventId}): ${c.outcome}`);
      const open = "Open Step Details";
      const choice =
        c.outcome === "success"
          ? await vscode.window.showInformationMessage(`Retry of ${original.tool_name} succeeded${c.original_outcome === "error" ? " (it failed originally)" : ""}.`, open)
          : await vscode.window.showWarningMessage(`Retry of ${original.tool_name} failed: ${c.error.type}: ${c.error.message}`, open);
      if (choice) this.openDetails(folder, call.session_id, Math.max(1, call.step_number));
    } catch (err) {
      this.log.error(`retry failed: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`Could not retry: ${(err as Error).message}`);
    }
  }

  /** File tools: open the file at the lines involved. Commands: show it, offer a terminal with it typed. */
  async reveal(folder: string, callEventId: string): Promise<void> {
    const service = this.service(folder);
    const db = (await service?.load())?.database;
    const linked = db ? getEventWithLinks(db, callEventId) : undefined;
    if (!service || !linked) return;
    const c = JSON.parse(linked.event.content);
    const input = c.input ?? {};
    if (c.tool_name === "run_command") {
      const result = linked.children.find((e) => e.event_type === "tool_result");
      const r = result ? JSON.parse(result.content) : undefined;
      const detail = r?.error
        ? `${r.error.type}: ${r.error.message}\n${r.error.detail?.stderr ? `stderr:\n${String(r.error.detail.stderr).slice(0, 800)}` : ""}`
        : String(r?.output ?? "").slice(0, 800);
      const choice = await vscode.window.showInformationMessage(`$ ${input.command}`, { modal: true, detail }, "Open in Terminal");
      if (choice) {
        const terminal = vscode.window.createTerminal({ name: "Agent Audit", cwd: service.folder.uri.fsPath });
        terminal.show();
        terminal.sendText(String(input.command ?? ""), false); // typed, not run: the user decides
      }
      return;
    }
    if (typeof input.path !== "string") return;
    const abs = path.resolve(service.folder.uri.fsPath, input.path);
    if (path.relative(service.folder.uri.fsPath, abs).startsWith("..")) {
      void vscode.window.showWarningMessage(`${input.path} is outside the workspace; not opening it.`);
      return;
    }
    const uri = vscode.Uri.file(abs);
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.type & vscode.FileType.Directory) {
        await vscode.commands.executeCommand("revealInExplorer", uri);
        return;
      }
      const start = Math.max(0, (input.start_line ?? 1) - 1);
      const end = Math.max(start, (input.end_line ?? input.start_line ?? 1) - 1);
      await vscode.window.showTextDocument(uri, { selection: new vscode.Range(start, 0, end, 0), preview: true });
    } catch {
      void vscode.window.showWarningMessage(`${input.path} does not exist any more.`);
    }
  }

  /** A new session with the recorded answers and the tools run for real, here and now. */
  async replay(folder: string, sessionId: string): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage("Sessions cannot be replayed in an untrusted workspace: the tools run for real.");
      return;
    }
    const service = this.service(folder);
    if (!service) return;
    const store = await service.openForWriting();
    const settings = readSettings(vscode.workspace.getConfiguration(SETTINGS.section, service.folder.uri));
    const cfg = agentConfig({ policy: settings.approvalPolicy, maxOutputBytes: settings.maxToolOutputBytes });
    try {
      const o = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Replaying the session (recorded answers, real tools)", cancellable: true },
        (_p, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          return replaySession({
            db: store.database,
            sessionId,
            workspaceRoot: service.folder.uri.fsPath,
            tools: workspaceTools(),
            approve: editorApprovalHandler(vscodeApprovalUi, `vscode:${osUser()}`, () => settings.modalApprovals),
            trail: store,
            signal: controller.signal,
            config: { agentId: cfg.agentId, agentVersion: cfg.agentVersion, userId: cfg.userId, policy: cfg.policy, maxOutputBytes: cfg.maxOutputBytes },
            redactor: new SecretRedactor(),
          });
        },
      );
      const compare = "Compare with Original";
      const msg = o.divergedSteps.length
        ? `Replay ${o.status}: differs from the recording in step ${o.divergedSteps.join(", ")}${o.error ? `. ${o.error.message}` : ""}`
        : `Replay ${o.status}: every tool did what it did in the recording.`;
      const choice = await (o.status === "completed" ? vscode.window.showInformationMessage(msg, compare) : vscode.window.showWarningMessage(msg, compare));
      if (choice) await this.compare(folder, sessionId, o.session_id);
    } catch (err) {
      void vscode.window.showErrorMessage(`Could not replay: ${(err as Error).message}`);
    }
  }

  /** Opens the two sessions side by side, aligned by step, in a read-only document. */
  async compare(folder: string, a: string, b: string): Promise<void> {
    const db = (await this.service(folder)?.load())?.database;
    if (!db) return;
    const text = renderSessionDiff(diffSessions(db, a, b));
    const uri = vscode.Uri.from({ scheme: DIFF_SCHEME, path: `/${a.slice(0, 8)} vs ${b.slice(0, 8)}.txt` });
    this.diffs.set(uri.toString(), text);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
