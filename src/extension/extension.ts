import * as vscode from "vscode";
import { AgentRunController } from "./agentRunController";
import { DebuggingCommands } from "./debuggingCommands";
import { registerApiKeyCommand } from "./apiKey";
import { OtlpLiveExport } from "./otlpLiveExport";
import { OtlpReceiverFeature } from "./otlpReceiverFeature";
import { registerEventCommands } from "./eventCommands";
import { brokenSeqs, IntegrityFeature } from "./integrity";
import { componentLogger } from "./logger";
import { registerFailuresView } from "./failuresView";
import { registerSessionsView } from "./sessionsView";
import { effectiveSettings } from "./effectiveSettings";
import { readSettings, SETTINGS } from "./settings";
import { VscodeApprovalPrompt } from "./approvalPrompt";
import { retireSecretStorageKey } from "./signingKey";
import { TrustStore } from "../trail/trustStore";
import { pricing } from "../shared/pricing";
import { StepDetailsPanel } from "./stepDetailsPanel";
import { TrailService } from "./trailService";
import type { TrailChange } from "./trailSource";

/**
 * Composition root. Builds the services and registers each feature; nothing here reads the
 * trail: that happens when a view first needs it.
 */
export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel("Agent Audit", { log: true });
  const log = componentLogger(channel, "extension");
  context.subscriptions.push(channel);

  // The trail's place is a user setting only: a workspace must not move it out of the folder
  // the file tools guard (effectiveSettings ignores and reports a workspace value).
  // Read once and on change: trailPath is asked for often, and reading it reads the workspace's
  // settings files (to name an ignored workspace value).
  let trailRel = effectiveSettings(undefined, log).trailPath;
  const trailRelPath = () => trailRel;
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("agentAudit.trailPath")) trailRel = effectiveSettings(undefined, log).trailPath;
    }),
  );
  // Model prices: the dated table and the user's overrides (read once and on change).
  const readPrices = () => pricing(readSettings(vscode.workspace.getConfiguration(SETTINGS.section)).modelPrices);
  let prices = readPrices();
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SETTINGS.section}.${SETTINGS.modelPrices}`)) prices = readPrices();
    }),
  );
  // A user setting only (application scope): a repository's settings must not delete its own history.
  const retentionDays = () => readSettings(vscode.workspace.getConfiguration(SETTINGS.section)).retentionDays;
  let services: TrailService[] = [];
  const syncFolders = () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const keep = services.filter((s) => folders.some((f) => f.uri.toString() === s.folder.uri.toString()));
    for (const s of services) if (!keep.includes(s)) s.dispose();
    const added = folders
      .filter((f) => !keep.some((s) => s.folder.uri.toString() === f.uri.toString()))
      .map((f) => new TrailService(f, trailRelPath, componentLogger(channel, `trail:${f.name}`), trust, retentionDays));
    services = [...keep, ...added];
    for (const s of added) s.onDidChange((change) => onTrailChanged(change));
  };

  // Checkpoints are signed with the user's key from the trust store the CLI shares; anchors
  // and pins live there too, outside every workspace (src/trail/trustStore.ts).
  const trust = new TrustStore();
  void retireSecretStorageKey(context.secrets, trust, componentLogger(channel, "key"));
  let integrity: IntegrityFeature | undefined;
  const view = registerSessionsView(() => services, componentLogger(channel, "tree"), (folder) => brokenSeqs(integrity?.result(folder)));
  let debugging: DebuggingCommands | undefined;
  const panel = new StepDetailsPanel(
    context.extensionUri,
    () => services,
    view.model,
    componentLogger(channel, "details"),
    (st) => void view.reveal(st.folder, st.sessionId, st.step),
    {
      retry: async (folder, eventId, edit) => debugging?.retry(folder, eventId, edit),
      reveal: async (folder, eventId) => debugging?.reveal(folder, eventId),
    },
    () => prices,
  );
  const approvals = new VscodeApprovalPrompt();
  const receiver = new OtlpReceiverFeature(() => services, context.secrets, componentLogger(channel, "otlp-receiver"));
  const otlp = new OtlpLiveExport(() => services, context.secrets, componentLogger(channel, "otlp"), String(context.extension.packageJSON.version ?? "unknown"));
  debugging = new DebuggingCommands(() => services, componentLogger(channel, "debug"), (folder, sessionId, step) => panel.show(folder, sessionId, step), () => view.treeView.selection, approvals);
  const failures = registerFailuresView(() => services, (f) => {
    void view.reveal(f.folder, f.sessionId, f.step);
    panel.show(f.folder, f.sessionId, f.step);
  });
  // An update names what changed; each view re-renders only that (see TrailChange).
  const onTrailChanged = (change: TrailChange) => {
    otlp.trailChanged();
    const update = view.apply(change);
    if (change.failures) failures.refresh();
    panel.onTrailChanged(change, update.touched);
  };
  syncFolders();
  integrity = new IntegrityFeature(() => services, componentLogger(channel, "integrity"), (folder, sessionId, step) => {
    void view.reveal(folder, sessionId, step);
    panel.show(folder, sessionId, step);
  });
  // The tree marks broken events: it is re-rendered only when those marks change. A re-render
  // for nothing (a trail that verified again) can undo an expansion the user just clicked.
  let marks = "";
  integrity.onDidChange(() => {
    const now = JSON.stringify(services.map((s) => [...brokenSeqs(integrity?.result(s.source.key))]));
    if (now === marks) return;
    marks = now;
    view.rerender();
  });
  const runner = new AgentRunController(
    context.secrets,
    () => services,
    componentLogger(channel, "run"),
    (folder, sessionId) => void view.reveal(folder, sessionId),
    (folder, sessionId, step) => panel.show(folder, sessionId, step),
    // Each session ends with a signed checkpoint; check the trail against it right away, then
    // send what is new to the team's OpenTelemetry backend, if one is set.
    (service) => {
      void integrity?.verify(service);
      otlp.exportPending();
    },
    approvals,
    () => prices,
  );

  context.subscriptions.push(
    approvals,
    otlp,
    receiver,
    integrity,
    failures,
    view,
    panel,
    runner,
    registerApiKeyCommand(context.secrets, componentLogger(channel, "key")),
    registerEventCommands(view, panel),
    debugging,
    vscode.commands.registerCommand("agentAudit.showLog", () => channel.show()),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      syncFolders();
      view.refresh();
    }),
    { dispose: () => services.forEach((s) => s.dispose()) },
  );
  // On shutdown, write each trail's database file before the host goes away.
  closeTrails = () => receiver.close().then(() => Promise.all(services.map((s) => s.close()))).then(() => undefined);
  log.info(`activated (${services.length} workspace folder${services.length === 1 ? "" : "s"})`);
}

let closeTrails: (() => Promise<void>) | undefined;

export function deactivate(): Promise<void> | undefined {
  return closeTrails?.();
}
