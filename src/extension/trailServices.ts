import * as vscode from "vscode";
import type { TrustStore } from "../trail/trust/trustStore";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import type { WindowSettings } from "./settings";
import { TrailService } from "./trailService";
import type { TrailChange } from "./trailSource";

/**
 * Every workspace folder's trail service, kept in step with the workspace's folders. What
 * changes in any trail is announced once, here (each view re-renders only what changed, see
 * TrailChange); a folder added or removed is announced on its own.
 */
export class TrailServices extends Disposable {
  private services: { service: TrailService; listener: vscode.Disposable }[] = [];
  private readonly changed = this.register(new vscode.EventEmitter<TrailChange>());
  /** A trail changed: the new seq range and the sessions it touched. */
  readonly onDidChange = this.changed.event;
  private readonly foldersChanged = this.register(new vscode.EventEmitter<void>());
  /** A workspace folder was added or removed. */
  readonly onDidChangeFolders = this.foldersChanged.event;

  constructor(
    private readonly settings: WindowSettings,
    /** The user's trust store, shared with the CLI: signing key, trusted keys, anchors, pins. */
    private readonly trust: TrustStore,
    private readonly logFor: (component: string) => Logger,
  ) {
    super();
    this.sync();
    this.register(
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.sync();
        this.foldersChanged.fire();
      }),
    );
  }

  all(): TrailService[] {
    return this.services.map((s) => s.service);
  }

  /** The service of one folder, by its key (the folder's URI). */
  get(folder: string): TrailService | undefined {
    return this.services.find((s) => s.service.source.key === folder)?.service;
  }

  private sync(): void {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const keep = this.services.filter((s) => folders.some((f) => f.uri.toString() === s.service.folder.uri.toString()));
    for (const s of this.services) if (!keep.includes(s)) this.drop(s);
    const added = folders
      .filter((f) => !keep.some((s) => s.service.folder.uri.toString() === f.uri.toString()))
      .map((f) => {
        const service = new TrailService(f, () => this.settings.trailPath, this.logFor(`trail:${f.name}`), this.trust, () => this.settings.retentionDays);
        return { service, listener: service.onDidChange((change) => this.changed.fire(change)) };
      });
    this.services = [...keep, ...added];
  }

  private drop(s: { service: TrailService; listener: vscode.Disposable }): void {
    s.listener.dispose();
    s.service.dispose();
  }

  /** Writes each trail's database file (the window is closing). */
  async close(): Promise<void> {
    await Promise.all(this.all().map((s) => s.close()));
  }

  override dispose(): void {
    super.dispose();
    for (const s of this.services) this.drop(s);
  }
}
