import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pruneSegments } from "../trail/store/retention";
import * as vscode from "vscode";
import { writerGate } from "../trail/store/writerGate";
import { filePinKeeper } from "../trail/trust/pinKeeper";
import type { TrustStore } from "../trail/trust/trustStore";
import { TrailError } from "../trail/store/trailErrors";
import { TrailStore } from "../trail/store/trailStore";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import { throttle } from "./throttle";
import type { TrailChange } from "./trailSource";
import { StoreTrailSource } from "./trailSource";

/** Refreshes per second at most while an agent streams events. */
const REFRESH_INTERVAL_MS = 250;

/**
 * One workspace folder's trail: opened only when something needs it (a view, a run),
 * watched for changes made by other windows or the CLI, and announcing changes at most a
 * few times per second.
 *
 * Viewing never writes. The views read through a read-only store (no lock, no journal repair,
 * no schema upgrade, no signing key), which works on a read-only mount and in an untrusted
 * workspace. Only running, retrying and replaying open a writer, held while they run and
 * closed after; its appends reach the views through the reader catching up.
 */
export class TrailService extends Disposable {
  readonly source: StoreTrailSource;
  private store: TrailStore | undefined;
  private opening: Promise<TrailStore | undefined> | undefined;
  private writer: Promise<TrailStore> | undefined;
  private writerUsers = 0;
  private readonly changed = this.register(new vscode.EventEmitter<TrailChange>());
  /** What changed since the last announcement: the new seq range and the sessions it touched. */
  readonly onDidChange = this.changed.event;
  private readonly fire = throttle(() => {
    try {
      const change = this.source.update();
      if (!change) return;
      this.log.debug(`seq ${change.fromSeq}–${change.toSeq}: ${change.added.length} new and ${change.updated.length} updated sessions${change.full ? " (re-read whole)" : ""}`);
      this.changed.fire(change);
    } catch (err) {
      this.log.error(`reading changes of ${this.trailPath} failed: ${(err as Error).message}`);
    }
  }, REFRESH_INTERVAL_MS);
  private reportedError = false;
  private openErrorValue: TrailError | undefined;

  constructor(
    readonly folder: vscode.WorkspaceFolder,
    private readonly trailRelPath: () => string,
    private readonly log: Logger,
    /** The user's trust store, shared with the CLI: signing key, trusted keys, anchors, pins. */
    readonly trust: TrustStore,
    /** agentAudit.retentionDays (a user setting): sealed segments older than this are pruned; 0 keeps all. */
    private readonly retentionDays: () => number = () => 0,
  ) {
    super();
    this.source = new StoreTrailSource(folder.uri.toString(), folder.name, () => this.store);
    const dir = path.dirname(this.trailRelPath());
    const watcher = this.register(vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, `${dir}/*`)));
    // The lock's socket comes and goes with every commit of a writer: not a change to read.
    const onDisk = (uri: vscode.Uri) => void (/\.lock\.sock(\.takeover)?$/.test(uri.path) || this.onDiskChange());
    this.register(watcher.onDidChange(onDisk));
    this.register(watcher.onDidCreate(onDisk));
    this.register(watcher.onDidDelete(onDisk));
  }

  /**
   * Why the trail could not be opened for viewing, for the views to say (undefined once it opens).
   * An `UnsafeTrailFileError` (safeFiles.ts) is a refusal of what the workspace ships in
   * .agent-audit (a link, a FIFO, a file too large, a foreign trail id): its message is one line.
   */
  get openError(): TrailError | undefined {
    return this.openErrorValue;
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

  /**
   * A store to append to, creating the trail if needed (to run an agent). Pair every call
   * with `doneWriting()`; the writer is closed (flushed, lock-free) when the last user is done.
   */
  async openForWriting(): Promise<TrailStore> {
    this.writerUsers++;
    this.writer ??= (async () => {
      try {
        const { store, report } = await TrailStore.open(this.trailPath, {
          log: (m) => this.log.info(m),
          signer: this.trust.signer(),
          anchorDir: this.trust.anchorsDir,
          pins: filePinKeeper(this.trust.pins),
          gate: writerGate(this.trust),
        });
        if (report.discardedBytes) {
          this.log.warn(`${this.trailPath}: set aside ${report.discardedBytes} bytes of an unfinished write (never acknowledged); copy kept in ${report.discardedCopy}`);
        }
        store.onDidAppend(() => void this.onDiskChange());
        return store;
      } catch (err) {
        this.writer = undefined;
        const message = err instanceof TrailError ? err.message : `Cannot open ${this.trailPath} for writing: ${(err as Error).message}`;
        this.log.error(message);
        throw new Error(message);
      }
    })();
    try {
      return await this.writer;
    } catch (err) {
      this.writerUsers--;
      throw err;
    }
  }

  /** The end of one `openForWriting()` use. */
  async doneWriting(): Promise<void> {
    if (--this.writerUsers > 0 || !this.writer) return;
    const writer = this.writer;
    this.writer = undefined;
    const store = await writer;
    await this.applyRetention(store);
    await store.close();
    await this.onDiskChange();
  }

  /** Prunes sealed segments past the retention period after a run (recorded and signed; see retention.ts). */
  private async applyRetention(store: TrailStore): Promise<void> {
    const days = this.retentionDays();
    if (days <= 0) return;
    try {
      const r = await pruneSegments(store, { before: new Date(Date.now() - days * 86_400_000), user: `vscode:${os.userInfo().username}`, trustedKeys: this.trust.trustedKeys() });
      for (const k of r.kept) this.log.warn(`retention kept ${k}`);
      if (r.segments.length) this.log.info(`retention (${days} days): pruned ${r.segments.length} sealed segments, seq ${r.segments[0].first_seq}–${r.segments[r.segments.length - 1].last_seq}`);
    } catch (err) {
      this.log.error(`retention: could not prune ${this.trailPath}: ${(err as Error).message}`);
    }
  }

  private open(): Promise<TrailStore | undefined> {
    this.opening ??= (async () => {
      try {
        if (!fs.existsSync(this.trailPath)) return undefined;
        const { store, report } = await TrailStore.open(this.trailPath, { readOnly: true });
        if (report.discardedBytes) {
          this.log.warn(`${this.trailPath}: the journal ends in ${report.discardedBytes} bytes of an unfinished write (never acknowledged); not shown`);
        }
        this.log.info(`opened ${this.trailPath} (${store.head.seq} events)`);
        store.onDidAppend(() => this.fire());
        this.store = store;
        this.openErrorValue = undefined;
        this.source.baseline();
        return store;
      } catch (err) {
        const message = err instanceof TrailError ? err.message : `Cannot open ${this.trailPath}: ${(err as Error).message}`;
        this.openErrorValue = err instanceof TrailError ? err : new TrailError("CORRUPT", message, this.trailPath);
        this.log.error(message);
        if (!this.reportedError) {
          this.reportedError = true;
          void vscode.window.showErrorMessage(message, "Show Log").then((c) => c && vscode.commands.executeCommand("agentAudit.showLog"));
        }
        return undefined;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private async onDiskChange(): Promise<void> {
    try {
      this.log.debug(`${this.trailPath} changed on disk (head ${this.store?.head.seq ?? "not open"})`);
      if (!this.store) {
        if (await this.load()) this.announceAll();
        return;
      }
      if (await this.store.refresh()) this.fire();
    } catch (err) {
      this.log.error(`reading changes of ${this.trailPath} failed: ${(err as Error).message}`);
    }
  }

  /** Asks listeners to re-read everything (Refresh): caches are dropped, memory returned. */
  refresh(): void {
    this.source.baseline();
    this.announceAll();
  }

  private announceAll(): void {
    const head = this.store?.head.seq ?? 0;
    this.changed.fire({ folder: this.source.key, full: true, fromSeq: 1, toSeq: head, added: [], updated: [], failures: true });
  }

  async close(): Promise<void> {
    this.fire.dispose();
    const writer = this.writer;
    this.writer = undefined;
    if (writer) await (await writer.catch(() => undefined))?.close();
    await this.store?.close();
    this.store = undefined;
  }

  override dispose(): void {
    void this.close().catch((err) => this.log.error(`closing ${this.trailPath} failed: ${(err as Error).message}`));
    super.dispose();
  }
}
