import * as vscode from "vscode";
import { agentConfig, osUser } from "../agent/agentDefaults";
import type { ProgressEvent, SessionOutcome } from "../agent/agentTypes";
import { runAgent } from "../agent/agentRunner";
import { AnthropicModelClient } from "../agent/anthropicModelClient";
import { SecretRedactor } from "../agent/secretRedactor";
import { workspaceTools } from "../agent/tools/toolSet";
import { getApiKey, offerToSetApiKey } from "./apiKey";
import { editorApprovalHandler } from "./approvalFlow";
import type { VscodeApprovalPrompt } from "./approvalPrompt";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import type { WindowSettings } from "./settings";
import { effectiveSettings } from "./settings";
import { plural } from "../shared/plural";
import type { StepNavigator } from "./stepNavigator";
import type { TrailService } from "./trailService";
import type { TrailServices } from "./trailServices";
import { costOf } from "../shared/pricing";
import { formatUsd } from "../shared/usd";

interface RunningSession {
  sessionId?: string;
  folder: string;
  controller: AbortController;
  step: number;
  maxSteps: number;
  tokens: number;
  /** Dollars so far; null once a call's model has no price (then tokens only). */
  costUsd: number | null;
  activity: string;
}

/**
 * "Run Agent…": asks for the task, runs the agent with progress (cancellable), a status bar
 * item, editor approvals, and a clear message at the end. One session at a time per window.
 */
export class AgentRunController extends Disposable {
  private running: RunningSession | undefined;
  private readonly statusItem = this.register(vscode.window.createStatusBarItem("agentAudit.status", vscode.StatusBarAlignment.Left, 50));

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly services: TrailServices,
    private readonly log: Logger,
    private readonly navigator: StepNavigator,
    private readonly approvals: VscodeApprovalPrompt,
    private readonly settings: WindowSettings,
    /** Each session ends with a signed checkpoint: what is to follow it (verify, export). */
    private readonly afterSession: (service: TrailService) => void,
  ) {
    super();
    this.statusItem.name = "Agent Audit";
    this.register(approvals.onDidChangePending(() => this.updateStatus()));
    this.register(vscode.commands.registerCommand("agentAudit.runAgent", () => this.run()));
    this.register(vscode.commands.registerCommand("agentAudit.cancelSession", () => this.cancel()));
    this.register(
      vscode.commands.registerCommand("agentAudit.focusRunningSession", () => {
        if (this.running?.sessionId) this.navigator.showStep({ folder: this.running.folder, sessionId: this.running.sessionId }, "tree");
      }),
    );
  }

  cancel(): void {
    if (!this.running) {
      void vscode.window.showInformationMessage("No agent session is running.");
      return;
    }
    this.log.info(`cancel requested for ${this.running.sessionId ?? "a starting session"}`);
    this.running.controller.abort();
  }

  async run(): Promise<void> {
    if (this.running) {
      const c = await vscode.window.showWarningMessage("An agent session is already running in this window.", "Cancel It");
      if (c) this.cancel();
      return;
    }
    if (!vscode.workspace.isTrusted) {
      const c = await vscode.window.showErrorMessage(
        "Agents cannot run in an untrusted workspace: they edit files and run commands. You can still view audit trails.",
        "Manage Workspace Trust",
      );
      if (c) await vscode.commands.executeCommand("workbench.trust.manage");
      return;
    }
    const service = await this.pickFolder();
    if (!service) return;
    const task = await vscode.window.showInputBox({
      title: "Run Agent",
      prompt: `What should the agent do in ${service.folder.name}? Everything it does is recorded in the audit trail.`,
      placeHolder: "e.g. Fix the failing test in src/parser.test.ts",
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : "Describe the task"),
    });
    if (!task?.trim()) return;
    const apiKey = await getApiKey(this.secrets);
    if (!apiKey) {
      this.log.warn("run refused: no API key");
      await offerToSetApiKey('Anthropic API key is missing — run "Agent Audit: Set Anthropic API Key"');
      return;
    }
    const settings = effectiveSettings(service.folder.uri, this.log);
    let store;
    try {
      store = await service.openForWriting();
    } catch (err) {
      void vscode.window.showErrorMessage((err as Error).message);
      return;
    }
    const config = agentConfig({
      model: settings.model,
      maxIterations: settings.maxIterations,
      thinkingBudget: settings.thinkingBudget,
      systemPrompt: settings.systemPrompt,
      policy: settings.approvalPolicy,
      maxOutputBytes: settings.maxToolOutputBytes,
      commandEnv: settings.commandEnvironment,
    });
    const running: RunningSession = {
      folder: service.source.key,
      controller: new AbortController(),
      step: 0,
      maxSteps: config.maxIterations,
      tokens: 0,
      costUsd: 0,
      activity: "starting",
    };
    this.running = running;
    this.log.info(`run in ${service.folder.uri.fsPath}: model ${config.model}, max ${config.maxIterations} steps`);
    this.updateStatus();
    const approverId = `vscode:${osUser()}`;
    const approve = editorApprovalHandler(this.approvals, approverId, () => effectiveSettings(service.folder.uri).modalApprovals);
    let outcome: SessionOutcome | undefined;
    try {
      outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Agent", cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => running.controller.abort());
          const report = () => progress.report({ message: `step ${running.step} of at most ${running.maxSteps} — ${running.activity}` });
          return runAgent({
            task,
            workspaceRoot: service.folder.uri.fsPath,
            model: new AnthropicModelClient({ apiKey, baseURL: settings.anthropicBaseUrl || undefined }),
            tools: workspaceTools(),
            approve,
            trail: store,
            signal: running.controller.signal,
            config,
            redactor: new SecretRedactor(),
            onProgress: (p) => {
              this.onProgress(running, p);
              report();
            },
          });
        },
      );
    } catch (err) {
      this.log.error(`the agent stopped: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`The agent stopped: ${(err as Error).message}`, "Show Log").then((c) => c && vscode.commands.executeCommand("agentAudit.showLog"));
    } finally {
      this.running = undefined;
      this.updateStatus();
      await service.doneWriting().catch((err: Error) => this.log.error(`closing the trail after the run failed: ${err.message}`));
    }
    if (outcome) {
      this.afterSession(service);
      await this.report(outcome, service);
    }
  }

  private onProgress(r: RunningSession, p: ProgressEvent): void {
    if (p.kind === "event") {
      const e = p.event;
      if (!r.sessionId) {
        r.sessionId = e.session_id;
        this.navigator.showStep({ folder: r.folder, sessionId: e.session_id }, "tree");
      }
      if (e.event_type === "llm_call") {
        const c = JSON.parse(e.content);
        r.tokens += (c.usage?.input_tokens ?? 0) + (c.usage?.output_tokens ?? 0);
        const price = this.settings.prices.priceOf(e.model_id, e.timestamp);
        r.costUsd = r.costUsd !== null && price && c.usage ? r.costUsd + costOf(c.usage, price) : null;
      }
    } else if (p.kind === "model_call") {
      r.step = p.step;
      r.activity = "waiting for the model";
    } else if (p.kind === "tool_start") {
      r.activity = `running ${p.tool_name}`;
    } else if (p.kind === "approval_wait") {
      r.activity = `waiting for your approval of ${p.tool_name}`;
    }
    this.updateStatus();
  }

  private updateStatus(): void {
    const r = this.running;
    if (!r) {
      this.statusItem.hide();
      return;
    }
    if (this.approvals.isPending) {
      // A pending approval stays one click away even after its notification was hidden.
      this.statusItem.text = `$(bell-dot) Agent: approval needed (step ${r.step})`;
      this.statusItem.tooltip = `Agent Audit: ${r.activity}. Click to answer.`;
      this.statusItem.command = "agentAudit.showPendingApproval";
      this.statusItem.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
    } else {
      const cost = r.costUsd !== null && r.tokens ? ` · ${formatUsd(r.costUsd)}` : "";
      this.statusItem.text = `$(sync~spin) Agent: step ${r.step}/${r.maxSteps} · ${compact(r.tokens)} tokens${cost}`;
      this.statusItem.tooltip = `Agent Audit: ${r.activity}. Click to show the session.`;
      this.statusItem.command = "agentAudit.focusRunningSession";
      this.statusItem.backgroundColor = undefined;
    }
    this.statusItem.show();
  }

  private async report(o: SessionOutcome, service: TrailService): Promise<void> {
    const folder = service.source.key;
    const summary = `${plural(o.totals.steps, "step")}, ${compact(o.totals.input_tokens + o.totals.output_tokens)} tokens, ${plural(o.totals.failed_tool_calls, "failed tool call")}`;
    this.log.info(`session ${o.session_id} ${o.status} (${summary})`);
    const open = "Open Step Details";
    let choice: string | undefined;
    if (o.status === "completed") {
      choice = await vscode.window.showInformationMessage(`Agent finished (${summary}).`, open);
    } else if (o.status === "error" && o.error?.type === "authentication") {
      await offerToSetApiKey(o.error.message);
      return;
    } else if (o.status === "error") {
      choice = await vscode.window.showErrorMessage(`Agent failed: ${o.error?.message ?? "unknown error"}`, open);
    } else {
      choice = await vscode.window.showWarningMessage(`Agent ${o.status === "timeout" ? "stopped at the step limit" : "cancelled"}: ${o.error?.message ?? ""}`, open);
    }
    if (choice === open) this.navigator.showStep({ folder, sessionId: o.session_id, step: Math.max(1, o.totals.steps) }, "details");
  }

  private async pickFolder(): Promise<TrailService | undefined> {
    const services = this.services.all();
    if (services.length === 0) {
      void vscode.window.showErrorMessage("Open a folder first: the agent works in a workspace folder, and the trail is kept there.");
      return undefined;
    }
    if (services.length === 1) return services[0];
    const pick = await vscode.window.showQuickPick(
      services.map((s) => ({ label: s.folder.name, description: s.folder.uri.fsPath, service: s })),
      { title: "Run Agent", placeHolder: "Which folder should the agent work in?" },
    );
    return pick?.service;
  }

  override dispose(): void {
    this.running?.controller.abort();
    super.dispose();
  }
}

function compact(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}
