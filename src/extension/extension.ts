import * as vscode from "vscode";
import { AgentRunController } from "./agentRunController";
import { registerApiKeyCommand } from "./apiKey";
import { VscodeApprovalPrompt } from "./approvalPrompt";
import { DebuggingCommands } from "./debuggingCommands";
import { registerEventCommands } from "./eventCommands";
import { registerFailuresView } from "./failuresView";
import { IntegrityFeature } from "./integrity";
import { componentLogger } from "./logger";
import { OtlpLiveExport } from "./otlpLiveExport";
import { OtlpReceiverFeature } from "./otlpReceiverFeature";
import { registerSessionsView } from "./sessionsView";
import { WindowSettings } from "./settings";
import { retireSecretStorageKey } from "./signingKey";
import { StepDetailsPanel } from "./stepDetailsPanel";
import { StepNavigator } from "./stepNavigator";
import type { TrailService } from "./trailService";
import { TrailServices } from "./trailServices";
import { plural } from "../shared/plural";
import { TrustStore } from "../trail/trust/trustStore";

/**
 * Composition root. Builds the services and registers each feature; nothing here reads the
 * trail: that happens when a view first needs it.
 */
export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel("Agent Audit", { log: true });
  const logFor = (component: string) => componentLogger(channel, component);
  const settings = new WindowSettings(logFor("extension"));
  // Checkpoints are signed with the user's key from the trust store the CLI shares; anchors
  // and pins live there too, outside every workspace (src/trail/trust/trustStore.ts).
  const trust = new TrustStore();
  void retireSecretStorageKey(context.secrets, trust, logFor("key"));
  const services = new TrailServices(settings, trust, logFor);
  const navigator = new StepNavigator();
  const approvals = new VscodeApprovalPrompt();
  const integrity = new IntegrityFeature(services, logFor("integrity"), navigator);
  const view = registerSessionsView(services, logFor("tree"), integrity, navigator);
  const debugging = new DebuggingCommands(services, logFor("debug"), navigator, view, approvals);
  const otlp = new OtlpLiveExport(services, context.secrets, logFor("otlp"), String(context.extension.packageJSON.version ?? "unknown"));
  const receiver = new OtlpReceiverFeature(services, context.secrets, logFor("otlp-receiver"));
  // Each session ends with a signed checkpoint; check the trail against it right away, then
  // send what is new to the team's OpenTelemetry backend, if one is set.
  const afterSession = (service: TrailService) => {
    void integrity.verify(service);
    otlp.exportPending();
  };
  context.subscriptions.push(channel, settings, navigator, approvals, otlp, receiver, integrity, view, debugging);
  context.subscriptions.push(
    new StepDetailsPanel(context.extensionUri, services, view, logFor("details"), navigator, debugging, settings),
    registerFailuresView(services, navigator),
    new AgentRunController(context.secrets, services, logFor("run"), navigator, approvals, settings, afterSession),
    registerApiKeyCommand(context.secrets, logFor("key")),
    registerEventCommands(view, navigator),
    vscode.commands.registerCommand("agentAudit.showLog", () => channel.show()),
    services,
  );
  // On shutdown, write each trail's database file before the host goes away.
  closeTrails = () => receiver.close().then(() => services.close());
  logFor("extension").info(`activated (${plural(services.all().length, "workspace folder")})`);
}

let closeTrails: (() => Promise<void>) | undefined;

export function deactivate(): Promise<void> | undefined {
  return closeTrails?.();
}
