import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { isRunning } from "./durableFile";

/**
 * A mutex shared by every process on this machine that opens the same trail (two VS Code
 * windows, the extension and the CLI). It must be released by the kernel when its holder
 * dies, even by kill -9, or a crash would wedge the trail: so on Linux it is a socket bound
 * in the abstract namespace, and on Windows a named pipe. Both vanish with the process and
 * leave nothing on disk. Elsewhere (macOS) it falls back, best effort, to a lock directory
 * holding the holder's pid, taken over when that pid is gone.
 *
 * A waiter also connects to the holder's socket: the holder then knows someone is waiting
 * (`contended`) and hands the lock over instead of keeping it for its next commit.
 */
/** A lock folder without a pid for this long lost its holder between mkdir and writing the pid. */
const STALE_EMPTY_LOCK_MS = 10_000;

export class ProcessLock {
  private server: net.Server | undefined;
  private address: string | undefined;
  private lockDir = "";
  private named = false;
  private holdingDir = false;
  private wanted = false;

  /**
   * `resourcePath`'s folder must exist by the first `acquire()`. `kind` "directory" forces the
   * lock-directory fallback (what macOS uses), so that it is tested on every platform.
   */
  constructor(
    private readonly resourcePath: string,
    private readonly kind: "auto" | "directory" = "auto",
  ) {}

  /**
   * The lock is named after the file, not the path string: two spellings of one trail (a
   * symlinked folder, another letter case on a case-insensitive disk, a bind mount) must share
   * one lock. The identity is the folder's device and inode (what the kernel sees as the same
   * folder, whatever the path) plus the file name, case-folded where the file system folds it.
   */
  private nameLock(): void {
    if (this.named) return;
    const dir = path.dirname(this.resourcePath);
    const st = fs.statSync(dir, { bigint: true });
    const foldsCase = process.platform === "win32" || process.platform === "darwin";
    const base = path.basename(this.resourcePath);
    const identity = `${st.dev}:${st.ino}:${foldsCase ? base.toLowerCase() : base}`;
    const id = createHash("sha256").update(identity).digest("hex").slice(0, 32);
    if (this.kind === "directory") this.address = undefined;
    else if (process.platform === "linux") this.address = `\0agent-audit-trail-${id}`;
    else if (process.platform === "win32") this.address = `\\\\?\\pipe\\agent-audit-trail-${id}`;
    this.lockDir = path.join(fs.realpathSync.native(dir), `${base}.lock`);
    this.named = true;
  }

  /** True once another process has asked for the lock while we hold it. */
  get contended(): boolean {
    return this.wanted;
  }

  /** Waits until this process holds the lock. */
  async acquire(): Promise<void> {
    this.nameLock();
    for (let attempt = 0; ; attempt++) {
      if (await this.tryAcquire()) return;
      if (attempt % 8 === 0) this.pokeHolder();
      // Holders keep the lock for a group commit (well under a millisecond) or a snapshot
      // write (longer), and hand it over as soon as they see us: poll often.
      await new Promise((r) => setTimeout(r, Math.min(attempt, 2)));
    }
  }

  /** Takes the lock if it is free now; never waits (for a holder that keeps it as long as it runs). */
  async tryAcquireNow(): Promise<boolean> {
    this.nameLock();
    return this.tryAcquire();
  }

  release(): void {
    this.wanted = false;
    if (this.server) {
      this.server.close();
      this.server = undefined;
    }
    if (this.holdingDir) {
      this.holdingDir = false;
      fs.rmSync(this.lockDir, { recursive: true, force: true });
    }
  }

  private tryAcquire(): Promise<boolean> {
    if (this.address === undefined) return Promise.resolve(this.tryAcquireDir());
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        this.wanted = true;
        socket.destroy();
      });
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(false);
        else reject(err);
      };
      server.once("error", onError);
      server.listen({ path: this.address, exclusive: true }, () => {
        server.off("error", onError);
        server.unref();
        this.server = server;
        resolve(true);
      });
    });
  }

  private pokeHolder(): void {
    if (this.address === undefined) return;
    const socket = net.connect({ path: this.address });
    socket.on("error", () => undefined); // the holder may be gone already
    socket.on("connect", () => socket.destroy());
    socket.unref();
  }

  private tryAcquireDir(): boolean {
    try {
      fs.mkdirSync(this.lockDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let text: string;
      try {
        text = fs.readFileSync(`${this.lockDir}/pid`, "utf8");
      } catch {
        // No pid yet: the holder is between mkdir and writing it. Only a lock left that way
        // for long (its holder died right there) is taken over.
        return this.takeOverIfOlderThan(STALE_EMPTY_LOCK_MS);
      }
      // An empty or partial pid (an older version wrote it in place) is a lock being created,
      // never a stale one (Number("") is 0, which "is not running"): only its age can tell.
      if (!/^[1-9]\d*$/.test(text)) return this.takeOverIfOlderThan(STALE_EMPTY_LOCK_MS);
      const holder = Number(text);
      if (!isRunning(holder)) {
        // Rename first so that, usually, only one waiter takes over a dead holder's lock.
        const grave = `${this.lockDir}.stale-${process.pid}-${Date.now()}`;
        try {
          fs.renameSync(this.lockDir, grave);
          fs.rmSync(grave, { recursive: true, force: true });
        } catch {
          /* another waiter took it over first */
        }
      }
      return false;
    }
    // Written aside and renamed, so a reader sees either no pid or the whole pid, never "".
    fs.writeFileSync(`${this.lockDir}/pid.${process.pid}`, String(process.pid));
    fs.renameSync(`${this.lockDir}/pid.${process.pid}`, `${this.lockDir}/pid`);
    this.holdingDir = true;
    return true;
  }

  private takeOverIfOlderThan(ms: number): false {
    try {
      if (Date.now() - fs.statSync(this.lockDir).mtimeMs > ms) {
        const grave = `${this.lockDir}.stale-${process.pid}-${Date.now()}`;
        fs.renameSync(this.lockDir, grave);
        fs.rmSync(grave, { recursive: true, force: true });
      }
    } catch {
      /* another waiter took it over, or it was released */
    }
    return false;
  }
}
