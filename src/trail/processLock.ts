import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
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
export class ProcessLock {
  private server: net.Server | undefined;
  private readonly address: string | undefined;
  private readonly lockDir: string;
  private holdingDir = false;
  private wanted = false;

  constructor(resourcePath: string) {
    const id = createHash("sha256").update(resourcePath).digest("hex").slice(0, 32);
    if (process.platform === "linux") this.address = `\0agent-audit-trail-${id}`;
    else if (process.platform === "win32") this.address = `\\\\?\\pipe\\agent-audit-trail-${id}`;
    this.lockDir = `${resourcePath}.lock`;
  }

  /** True once another process has asked for the lock while we hold it. */
  get contended(): boolean {
    return this.wanted;
  }

  /** Waits until this process holds the lock. */
  async acquire(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (await this.tryAcquire()) return;
      if (attempt % 8 === 0) this.pokeHolder();
      // Holders keep the lock for a group commit (well under a millisecond) or a snapshot
      // write (longer), and hand it over as soon as they see us: poll often.
      await new Promise((r) => setTimeout(r, Math.min(attempt, 2)));
    }
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
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(`${this.lockDir}/pid`, "utf8"));
      } catch {
        return false; // being created right now
      }
      if (Number.isInteger(holder) && !isRunning(holder)) {
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
    fs.writeFileSync(`${this.lockDir}/pid`, String(process.pid));
    this.holdingDir = true;
    return true;
  }
}
