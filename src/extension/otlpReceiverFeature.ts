import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { SecretRedactor } from "../agent/secretRedactor";
import type { RunningCollector } from "../otel/otlpCollector";
import { startCollector } from "../otel/otlpCollector";
import type { TrailStore } from "../trail/store/trailStore";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import { SETTINGS } from "./settingDefinitions";
import { onSettingChange, userSettings } from "./settings";
import type { TrailService } from "./trailService";
import type { TrailServices } from "./trailServices";

/** Where the receiver's bearer token is kept (VS Code's secret storage, never a setting a repository could set). */
const TOKEN_SECRET = "agentAudit.otlp.receiver.token";

/**
 * The OTLP receiver inside the extension (`agentAudit.otlp.receiver.enabled`, off by default;
 * a user setting): other agents on this machine (Copilot agent mode, Claude Code, anything
 * instrumented with OpenTelemetry) send their telemetry to 127.0.0.1 and it lands in the first
 * workspace folder's trail, where the views show it, marked as received. Senders must present
 * a bearer token, generated when the receiver is first enabled and kept in secret storage;
 * **Agent Audit: Show OpenTelemetry Receiver Token** gives it with the settings to paste.
 */
export class OtlpReceiverFeature extends Disposable {
  private running: { service: TrailService; collector: RunningCollector } | undefined;
  private change: Promise<void> = Promise.resolve();

  constructor(
    private readonly services: TrailServices,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: Logger,
  ) {
    super();
    this.register(onSettingChange(SETTINGS.otlpReceiver, () => this.apply()));
    this.register(vscode.commands.registerCommand("agentAudit.showOtlpReceiverToken", () => this.showToken()));
    this.apply();
  }

  /** The token, created (and stored) the first time. */
  private async token(): Promise<{ token: string; created: boolean }> {
    const kept = await this.secrets.get(TOKEN_SECRET);
    if (kept) return { token: kept, created: false };
    const token = randomBytes(32).toString("base64url");
    await this.secrets.store(TOKEN_SECRET, token);
    return { token, created: true };
  }

  private async showToken(): Promise<void> {
    const { token } = await this.token();
    const port = this.running ? new URL(this.running.collector.url).port : String(userSettings().otlpReceiverPort);
    const env = `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:${port}\nOTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${token}"`;
    const pick = await vscode.window.showInformationMessage(
      `The OpenTelemetry receiver takes only requests with the header "Authorization: Bearer ${token}". For an agent instrumented with OpenTelemetry (Claude Code, the OpenTelemetry SDK): ${env.replace("\n", " ")}`,
      "Copy Settings",
    );
    if (pick === "Copy Settings") await vscode.env.clipboard.writeText(env + "\n");
  }

  private apply(): void {
    this.change = this.change.then(async () => {
      const s = userSettings();
      await this.stop();
      if (!s.otlpReceiverEnabled) return;
      if (!vscode.workspace.isTrusted) {
        this.log.warn("the OpenTelemetry receiver does not run in an untrusted workspace (it writes to the trail)");
        return;
      }
      const service = this.services.all()[0];
      if (!service) return;
      let store: TrailStore | undefined;
      try {
        const { token, created } = await this.token();
        store = await service.openForWriting();
        const redactor = new SecretRedactor();
        const collector = await startCollector({ store, trailPath: service.trailPath, stateDir: service.trust.dir, port: s.otlpReceiverPort, token, redact: (v) => redactor.redact(v), log: (m) => this.log.info(m) }).catch((err: NodeJS.ErrnoException) => {
          throw new Error(err.code === "EADDRINUSE" ? `port ${s.otlpReceiverPort} is in use (another collector?); set agentAudit.otlp.receiver.port` : err.message);
        });
        this.running = { service, collector };
        this.log.info(`OpenTelemetry receiver on ${collector.url} (/v1/traces, /v1/logs; bearer token required), into ${service.trailPath}`);
        // The first time, say what senders need: without the token nothing they send is taken.
        if (created) void this.showToken();
      } catch (err) {
        if (store) await service.doneWriting();
        this.log.error(`OpenTelemetry receiver: ${(err as Error).message}`);
        void vscode.window.showErrorMessage(`Agent Audit could not start the OpenTelemetry receiver: ${(err as Error).message}`);
      }
    });
  }

  private async stop(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    if (!r) return;
    await r.collector.stop();
    await r.service.doneWriting();
  }

  /** Stops listening and writes what is staged (window closing). */
  async close(): Promise<void> {
    await this.change;
    await this.stop();
  }

  override dispose(): void {
    super.dispose();
    void this.close();
  }
}
