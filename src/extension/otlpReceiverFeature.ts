import * as vscode from "vscode";
import { SecretRedactor } from "../agent/secretRedactor";
import type { RunningCollector } from "../otel/otlpCollector";
import { startCollector } from "../otel/otlpCollector";
import type { TrailStore } from "../trail/trailStore";
import type { Logger } from "./logger";
import { readSettings, SETTINGS } from "./settings";
import type { TrailService } from "./trailService";

/**
 * The OTLP receiver inside the extension (`agentAudit.otlp.receiver.enabled`, off by default;
 * a user setting): other agents on this machine (Copilot agent mode, Claude Code, anything
 * instrumented with OpenTelemetry) send their telemetry to 127.0.0.1 and it lands in the first
 * workspace folder's trail, where the views show it like our own sessions.
 */
export class OtlpReceiverFeature implements vscode.Disposable {
  private running: { service: TrailService; collector: RunningCollector } | undefined;
  private change: Promise<void> = Promise.resolve();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly services: () => TrailService[],
    private readonly log: Logger,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SETTINGS.section}.otlp.receiver`)) this.apply();
      }),
    );
    this.apply();
  }

  private apply(): void {
    this.change = this.change.then(async () => {
      const s = readSettings(vscode.workspace.getConfiguration(SETTINGS.section));
      await this.stop();
      if (!s.otlpReceiverEnabled) return;
      if (!vscode.workspace.isTrusted) {
        this.log.warn("the OpenTelemetry receiver does not run in an untrusted workspace (it writes to the trail)");
        return;
      }
      const service = this.services()[0];
      if (!service) return;
      let store: TrailStore | undefined;
      try {
        store = await service.openForWriting();
        const redactor = new SecretRedactor();
        const collector = await startCollector({ store, trailPath: service.trailPath, port: s.otlpReceiverPort, redact: (v) => redactor.redact(v), log: (m) => this.log.info(m) }).catch((err: NodeJS.ErrnoException) => {
          throw new Error(err.code === "EADDRINUSE" ? `port ${s.otlpReceiverPort} is in use (another collector?); set agentAudit.otlp.receiver.port` : err.message);
        });
        this.running = { service, collector };
        this.log.info(`OpenTelemetry receiver on ${collector.url} (/v1/traces, /v1/logs), into ${service.trailPath}`);
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

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    void this.close();
  }
}
