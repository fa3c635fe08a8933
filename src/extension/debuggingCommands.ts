import * as path from "node:path";
import * as vscode from "vscode";
import { TrailReader } from "../trail/reading/trailReader";
import { AGENT_ID } from "../agent/agentDefaults";
import { agentConfig, osUser } from "../agent/agentDefaults";
import { replaySession } from "../agent/replaySession";
import { recordedToolCall, retryAsAgent } from "../agent/retryToolCall";
import { SecretRedactor } from "../agent/secretRedactor";
import { workspaceTools } from "../agent/tools/toolSet";
import { renderSessionDiff } from "../shared/diffText";
import { diffSessions } from "../trail/reading/sessionDiff";
import { getEventWithLinks } from "../trail/reading/trailQueries";
import { editorApprovalHandler, validateJsonObject } from "./approvalFlow";
import type { ApprovalUi } from "./approvalFlow";
import { RecordedCommandDocs } from "./recordedCommandDocs";
import { redactionMarkers } from "../agent/toolExecution";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import type { TreeNode } from "./sessionsTreeModel";
import type { SessionsView } from "./sessionsView";
import { effectiveSettings } from "./settings";
import type { StepNavigator } from "./stepNavigator";
import type { TrailService } from "./trailService";
import type { TrailServices } from "./trailServices";
import type { TrailStore } from "../trail/store/trailStore";

const DIFF_SCHEME = "agent-audit-diff";

/**
 * Debugging failed tool calls: retry one (optionally with an edited input), reveal what it
 * touched, replay a session against the current workspace, compare two sessions.
 */
export class DebuggingCommands extends Disposable {
  private readonly diffs = new Map<string, string>();
  private readonly recordedCommands = this.register(new RecordedCommandDocs());
  private readonly selection: () => readonly TreeNode[];

  constructor(
    private readonly services: TrailServices,
    private readonly log: Logger,
    private readonly navigator: StepNavigator,
    view: SessionsView,
    private readonly approvals: ApprovalUi,
  ) {
    super();
    this.selection = () => view.treeView.selection;
    const callOf = (node?: TreeNode | { folder: string; callEventId: string }) => {
      const n = node ?? this.selection()[0];
      if (!n) return undefined;
      if ("callEventId" in n && !("kind" in n)) return n;
      const t = n as TreeNode;
      if (t.kind === "toolCall") return { folder: t.folder, callEventId: t.eventId };
      if (t.kind === "retry") return { folder: t.folder, callEventId: t.callEventId };
      return undefined;
    };
    this.register(vscode.Disposable.from(
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
    ));
  }

  private service(folder: string): TrailService | undefined {
    return this.services.get(folder);
  }

  /** Runs a recorded tool call again now, under the same approval policy; records a tool_retry. */
  async retry(folder: string, callEventId: string, edit: boolean): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage("Tool calls cannot be retried in an untrusted workspace.");
      return;
    }
    const service = this.service(folder);
    if (!service) return;
    await service.load();
    const session = service.source.reader?.sessionOfEvent(callEventId);
    if (session && !(await this.ours(service, session, "retried"))) return;
    await this.withWriter(service, (store) => this.retryIn(service, store, folder, callEventId, edit));
  }

  /**
   * Retry and replay re-run our own agent's tools and recorded answers; a session received
   * from another agent (OpenTelemetry) has neither, so they say so instead.
   */
  private async ours(service: TrailService, sessionId: string, verb: string): Promise<boolean> {
    const agent = service.source.session(sessionId)?.agent_id;
    if (!agent || agent === AGENT_ID) return true;
    void vscode.window.showInformationMessage(`This session was recorded from ${agent} over OpenTelemetry: it can be viewed and verified, but only Agent Audit's own sessions can be ${verb}.`);
    return false;
  }

  /** Runs `body` with the folder's trail open for writing, and closes it after. */
  private async withWriter(service: TrailService, body: (store: TrailStore) => Promise<void>): Promise<void> {
    let store: TrailStore;
    try {
      store = await service.openForWriting();
    } catch (err) {
      void vscode.window.showErrorMessage((err as Error).message);
      return;
    }
    try {
      await body(store);
    } finally {
      await service.doneWriting();
    }
  }

  private async retryIn(service: TrailService, store: TrailStore, folder: string, callEventId: string, edit: boolean): Promise<void> {
    // The recorded call may be in a sealed segment: read it from the one that holds it.
    const { db: recordedIn, call } = recordedToolCall(store, callEventId);
    if (!call) return;
    const original = JSON.parse(call.content);
    let input: Record<string, unknown> | undefined;
    // A secret was redacted from the recorded input: ask for the value rather than run the placeholder.
    const markers = redactionMarkers(original.input);
    if (edit || markers.length) {
      const text = await vscode.window.showInputBox({
        title: `Retry ${original.tool_name} with this input`,
        value: JSON.stringify(original.input ?? {}),
        prompt: markers.length
          ? `Replace ${markers.join(", ")} with the real value (it was redacted from the trail, and is redacted again in the retry's record).`
          : "Edit the tool input (JSON). The retry is recorded with it; the original stays as it was.",
        validateInput: validateJsonObject,
        ignoreFocusOut: true,
      });
      if (text === undefined) return;
      input = JSON.parse(text);
    }
    const settings = effectiveSettings(service.folder.uri);
    const cfg = agentConfig({ policy: settings.approvalPolicy, maxOutputBytes: settings.maxToolOutputBytes, commandEnv: settings.commandEnvironment });
    const approve = editorApprovalHandler(this.approvals, `vscode:${osUser()}`, () => settings.modalApprovals);
    try {
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Retrying ${original.tool_name}`, cancellable: true },
        (_p, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          return retryAsAgent({ store, db: recordedIn, eventId: callEventId, input, workspaceRoot: service.folder.uri.fsPath, config: cfg, approve, signal: controller.signal });
        },
      );
      const c = JSON.parse(r.event.content);
      this.log.info(`retried ${original.tool_name} (${callEventId}): ${c.outcome}`);
      const open = "Open Step Details";
      const choice =
        c.outcome === "success"
          ? await vscode.window.showInformationMessage(`Retry of ${original.tool_name} succeeded${c.original_outcome === "error" ? " (it failed originally)" : ""}.`, open)
          : await vscode.window.showWarningMessage(`Retry of ${original.tool_name} failed: ${c.error.type}: ${c.error.message}`, open);
      if (choice) this.navigator.showStep({ folder, sessionId: call.session_id, step: Math.max(1, call.step_number) }, "details");
    } catch (err) {
      this.log.error(`retry failed: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`Could not retry: ${(err as Error).message}`);
    }
  }

  /**
   * File tools: open the file at the lines involved. Commands: show the recorded command in a
   * read-only editor with a Copy action. Nothing from a trail ever reaches a terminal or a
   * shell: a trail may be someone else's, and a newline typed into a terminal is an Enter.
   */
  async reveal(folder: string, callEventId: string): Promise<void> {
    const service = this.service(folder);
    await service?.load();
    const reader = service?.source.reader;
    const session = reader?.sessionOfEvent(callEventId);
    const db = session ? reader?.sessionDatabase(session) : undefined;
    const linked = db ? getEventWithLinks(db, callEventId) : undefined;
    if (!service || !linked) return;
    const c = JSON.parse(linked.event.content);
    const input = c.input ?? {};
    if (c.tool_name === "run_command") {
      const result = linked.children.find((e) => e.event_type === "tool_result");
      const r = result ? JSON.parse(result.content) : undefined;
      const command = String(input.command ?? "");
      const outcome = r?.error
        ? `${r.error.type}: ${r.error.message}${r.error.detail?.stderr ? `\nstderr:\n${String(r.error.detail.stderr)}` : ""}`
        : String(r?.output ?? "(no result recorded)");
      const uri = this.recordedCommands.show(callEventId, command, outcome);
      await vscode.window.showTextDocument(uri, { preview: true });
      const copy = "Copy Command";
      const choice = await vscode.window.showInformationMessage("The recorded command is shown read-only; it is not run.", copy);
      if (choice === copy) await vscode.env.clipboard.writeText(command);
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
    await service.load();
    if (!(await this.ours(service, sessionId, "replayed"))) return;
    await this.withWriter(service, (store) => this.replayIn(service, store, folder, sessionId));
  }

  private async replayIn(service: TrailService, store: TrailStore, folder: string, sessionId: string): Promise<void> {
    const settings = effectiveSettings(service.folder.uri);
    const cfg = agentConfig({ policy: settings.approvalPolicy, maxOutputBytes: settings.maxToolOutputBytes, commandEnv: settings.commandEnvironment });
    try {
      const o = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Replaying the session (recorded answers, real tools)", cancellable: true },
        (_p, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          return replaySession({
            db: new TrailReader(store).sessionDatabase(sessionId),
            sessionId,
            workspaceRoot: service.folder.uri.fsPath,
            tools: workspaceTools(),
            approve: editorApprovalHandler(this.approvals, `vscode:${osUser()}`, () => settings.modalApprovals),
            trail: store,
            signal: controller.signal,
            config: { agentId: cfg.agentId, agentVersion: cfg.agentVersion, userId: cfg.userId, policy: cfg.policy, maxOutputBytes: cfg.maxOutputBytes, commandEnv: cfg.commandEnv },
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
    const service = this.service(folder);
    await service?.load();
    const db = service?.source.reader?.sessionDatabase(a, b);
    if (!db) return;
    const text = renderSessionDiff(diffSessions(db, a, b));
    const uri = vscode.Uri.from({ scheme: DIFF_SCHEME, path: `/${a.slice(0, 8)} vs ${b.slice(0, 8)}.txt` });
    this.diffs.set(uri.toString(), text);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
  }
}
