import * as path from "node:path";
import * as vscode from "vscode";
import { LiveDelivery, LiveExportSchedule } from "../otel/liveExport";
import { OtlpExportError } from "../otel/otlpExport";
import type { OtlpProtocol } from "../otel/otlpExport";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import { SETTINGS } from "./settingDefinitions";
import { onSettingChange, userSettings } from "./settings";
import type { TrailServices } from "./trailServices";

const HEADERS_SECRET = "agentAudit.otlp.headers";
export const SET_OTLP_HEADERS_COMMAND = "agentAudit.setOtlpHeaders";

/**
 * Live export to the team's OpenTelemetry backend (`agentAudit.otlp.endpoint`, a user
 * setting). While an agent runs, what it has completed (model calls, tool calls with their
 * results) is sent every couple of seconds, and the session's own span when it ends; at window
 * open, what an earlier window could not deliver (src/otel/otlpDelivery.ts; the cursor is shared
 * with the CLI). The trail's change only sets a timer (src/otel/liveExport.ts): the export never
 * runs in a step's path, so it cannot slow or fail a run; when the endpoint is down nothing is
 * lost and the next export sends the rest. Headers (credentials) live in SecretStorage, never
 * in settings.
 */
export class OtlpLiveExport extends Disposable {
  private readonly schedule = new LiveExportSchedule(() => this.exportAll(), (err) => this.log.error(`export failed: ${(err as Error).message}`));
  private readonly warned = new Set<string>();
  /** Per trail and endpoint: what the last export saw (src/otel/liveExport.ts). */
  private readonly deliveries = new Map<string, LiveDelivery>();

  constructor(
    private readonly services: TrailServices,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: Logger,
    private readonly version: string,
  ) {
    super();
    this.register(vscode.commands.registerCommand(SET_OTLP_HEADERS_COMMAND, () => this.setHeaders()));
    this.register(onSettingChange(SETTINGS.otlpEndpoint, () => this.exportPending()));
    this.register(services.onDidChange(() => this.trailChanged()));
    // What an earlier window (or a restart) could not deliver goes now.
    setTimeout(() => this.exportPending(), 3_000).unref?.();
  }

  /** After a run: sends what is new now, in the background. */
  exportPending(): void {
    if (this.endpoint()) void this.schedule.exportNow();
  }

  /** A trail changed (a run appended to it): what is complete goes within a couple of seconds. */
  private trailChanged(): void {
    if (this.endpoint()) this.schedule.changed();
  }

  private endpoint(): string {
    return userSettings().otlpEndpoint;
  }

  private async exportAll(): Promise<void> {
    const s = userSettings();
    if (!s.otlpEndpoint) return;
    const headers = await this.headers();
    for (const service of this.services.all()) {
      const store = await service.load().catch(() => undefined);
      if (!store) continue;
      try {
        await store.refresh();
        const key = `${service.trailPath}\n${s.otlpEndpoint}`;
        const live = this.deliveries.get(key) ?? new LiveDelivery();
        this.deliveries.set(key, live);
        const r = await live.deliver({
          store,
          target: { endpoint: s.otlpEndpoint, headers, protocol: s.otlpProtocol as OtlpProtocol },
          content: s.otlpContent,
          cursorDir: path.join(service.trust.dir, "otlp-cursors"),
          service: { name: "agent-audit-trail", version: this.version },
        });
        if (r.spans) this.log.info(`exported ${r.spans} spans of ${r.sessions} sessions of ${service.folder.name} to ${s.otlpEndpoint}`);
        this.warned.clear();
      } catch (err) {
        const message = err instanceof OtlpExportError ? err.message : `export failed: ${(err as Error).message}`;
        this.log.warn(`OpenTelemetry export of ${service.folder.name}: ${message}`);
        // Said once per kind of problem, not after every run; the log has each attempt.
        const kind = err instanceof OtlpExportError && !err.retryable ? message : "unreachable";
        if (!this.warned.has(kind)) {
          this.warned.add(kind);
          const fix = err instanceof OtlpExportError && /401|403|credentials/.test(message) ? "Set Export Headers" : undefined;
          const choice = await vscode.window.showWarningMessage(`Agent Audit: ${message}`, ...(fix ? [fix] : []), "Show Log");
          if (choice === fix) void vscode.commands.executeCommand(SET_OTLP_HEADERS_COMMAND);
          else if (choice === "Show Log") void vscode.commands.executeCommand("agentAudit.showLog");
        }
      }
    }
  }

  private async headers(): Promise<Record<string, string>> {
    try {
      const raw = await this.secrets.get(HEADERS_SECRET);
      return raw ? (JSON.parse(raw) as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  private async setHeaders(): Promise<void> {
    const text = await vscode.window.showInputBox({
      title: "OpenTelemetry export headers",
      prompt: "NAME=VALUE pairs separated by commas (e.g. Authorization=Basic …). Kept in VS Code's secret storage, never in settings or the trail. Empty removes them.",
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() && v.split(",").some((p) => p.indexOf("=") <= 0) ? "Each header is NAME=VALUE" : undefined),
    });
    if (text === undefined) return;
    if (!text.trim()) {
      await this.secrets.delete(HEADERS_SECRET);
      void vscode.window.showInformationMessage("OpenTelemetry export headers removed.");
      return;
    }
    const headers = Object.fromEntries(text.split(",").map((p) => [p.slice(0, p.indexOf("=")).trim(), p.slice(p.indexOf("=") + 1).trim()]));
    await this.secrets.store(HEADERS_SECRET, JSON.stringify(headers));
    this.log.info(`OpenTelemetry export headers stored in secret storage: ${Object.keys(headers).join(", ")}`);
    void vscode.window.showInformationMessage("OpenTelemetry export headers saved.");
    this.warned.clear();
    this.exportPending();
  }

  override dispose(): void {
    void this.schedule.dispose();
    super.dispose();
  }
}
