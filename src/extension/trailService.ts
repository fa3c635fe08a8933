import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import type { CheckpointSigner } from "../trail/signing";
import { TrailError } from "../trail/trailErrors";
import { TrailStore } from "../trail/trailStore";
import type { Logger } from "./logger";
import { throttle } from "./throttle";
import { StoreTrailSource } from "./trailSource";

/** Refreshes per second at most while an agent streams events. */
const REFRESH_INTERVAL_MS = 250;

/**
 * One workspace folder's trail: opened only when something needs it (a view, a run),
 * watched for changes made by other windows or the CLI, and announcing changes at most a
 * few times per second.
 */
export class TrailService implements vscode.Disposable {
  readonly source: StoreTrailSource;
  private store: TrailStore | undefined;
  private opening: Promise<TrailStore | undefined> | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly fire = throttle(() => {
    this.source.invalidate();
    this.changed.fire();
  }, REFRESH_INTERVAL_MS);
  private readonly disposables: vscode.Disposable[] = [];
  private reportedError = false;

  constructor(
    readonly folder: vscode.WorkspaceFolder,
    private readonly trailRelPath: () => string,
    private readonly log: Logger,
    private readonly signing: { signer: () => Promise<CheckpointSigner>; anchorDir: string },
  ) {
    this.source = new StoreTrailSource(folder.uri.toString(), folder.name, () => this.store);
    const dir = path.dirname(this.trailRelPath());
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, `${dir}/*`));
    const onDisk = () => void this.onDiskChange();
    this.disposables.push(watcher, watcher.onDidChange(onDisk), watcher.onDidCreate(onDisk), watcher.onDidDelete(onDisk), this.changed);
  }

  get trailPath(): string {
    return path.resolve(this.folder.uri.fsPath, this.trailRelPath());
  }

  /** The store if the trail exists (never creates one); undefined when there is none yet. */
  async load(): Promise<TrailStore | undefined> {
    if (this.store) return this.store;
    if (!fs.existsSync(this.trailPath)) return undefined;
    return this.open();
  }

  /** The store, creating the trail if needed (to run an agent). */
  async openForWriting(): Promise<TrailStore> {
    const store = this.store ?? (await this.open(true));
    if (!store) throw new Error(`Could not open the audit trail ${this.trailPath}; see the Agent Audit log`);
    return store;
  }

  get anchorDir(): string {
    return this.signing.anchorDir;
  }

  /** The signing key's public half (to trust its checkpoints when verifying). */
  async signerKey() {
    return (await this.signing.signer()).key;
  }

  private open(create = false): Promise<TrailStore | undefined> {
    this.opening ??= (async () => {
      try {
        if (!create && !fs.existsSync(this.trailPath)) return undefined;
        const { store, report } = await TrailStore.open(this.trailPath, {
          log: (m) => this.log.info(m),
          signer: await this.signing.signer(),
          anchorDir: this.signing.anchorDir,
        });
        if (report.discardedBytes) {
          this.log.warn(`${this.trailPath}: discarded ${report.discardedBytes} bytes of an unfinished write (never acknowledged); copy kept in ${report.discardedCopy}`);
        }
        this.log.info(`opened ${this.trailPath} (${store.head.seq} events)`);
        store.onDidAppend(() => this.fire());
        this.store = store;
        this.source.invalidate();
        return store;
      } catch (err) {
        const message = err instanceof TrailError ? err.message : `Cannot open ${this.trailPath}: ${(err as Error).message}`;
        this.log.error(message);
        if (!this.reportedError) {
          this.reportedError = true;
          void vscode.window.showErrorMessage(message, "Show Log").then((c) => c && vscode.commands.executeCommand("agentAudit.showLog"));
        }
        if (create) throw err;
        return undefined;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private async onDiskChange(): Promise<void> {
    try {
      if (!this.store) {
        if (await this.load()) this.fire();
        return;
      }
      if (await this.store.refresh()) this.fire();
    } catch (err) {
      this.log.error(`reading changes of ${this.trailPath} failed: ${(err as Error).message}`);
    }
  }

  /** Asks listeners to re-read (e.g. after a filter change). */
  refresh(): void {
    this.source.invalidate();
    this.changed.fire();
  }

  async close(): Promise<void> {
    this.fire.dispose();
    await this.store?.close();
    this.store = undefined;
  }

  dispose(): void {
    void this.close().catch((err) => this.log.error(`closing ${this.trailPath} failed: ${(err as Error).message}`));
    for (const d of this.disposables) d.dispose();
  }
}
