import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { isRunning } from "./durableFile";
import { TrailError } from "./trailErrors";

/**
 * A mutex shared by every process on this machine that opens the same trail (two VS Code
 * windows, the extension and the CLI, a Dev Container or a sandboxed agent writing the same
 * workspace). It must be released when its holder dies, even by kill -9, or a crash would
 * wedge the trail.
 *
 * On Linux it is a Unix socket bound at a path in the trail's own folder (`trail.db.lock.sock`):
 * whoever binds it holds the lock. A path, not the abstract namespace, because an abstract
 * name exists per network namespace: a container with its own network (Docker, `unshare -n`)
 * could hold "the" lock at the same time as the host. A file in the trail's folder is the same
 * file for every process that can reach the trail, through any path, bind mount or mount
 * namespace, and the kernel connects to its listener from any of them. A holder that dies
 * leaves the file behind with no listener: a waiter that cannot connect to it knows the holder
 * is gone (no pid is compared: pids differ across PID namespaces) and removes it, under a short
 * takeover lock so that two waiters never remove each other's fresh socket, and only once the
 * socket is a second old (a live holder's is refused between its bind() and its listen()). On release, libuv
 * unlinks the file before closing the socket, so a live holder's file never answers "refused".
 * On Windows it is a named pipe; elsewhere (macOS) a lock directory holding the holder's pid,
 * taken over when that pid is gone (best effort).
 *
 * A waiter's connection also tells the holder someone is waiting (`contended`): the holder then
 * hands the lock over instead of keeping it for its next commit.
 *
 * A lock on a network file system cannot keep out a writer on another machine: a writer there
 * is refused with a clear message (TrailError NETWORK_FS) unless the user says only one
 * machine writes the trail (AGENT_AUDIT_NETWORK_FS=single-writer).
 */
/** A lock folder without a pid for this long lost its holder between mkdir and writing the pid. */
const STALE_EMPTY_LOCK_MS = 10_000;
/** A socket younger than this may be a live holder's between bind() and listen(): never taken over. */
const BIND_GRACE_MS = 1_000;
/** A takeover lock is held for a few system calls; one this old lost its holder (killed right there). */
const STALE_TAKEOVER_MS = 10_000;

/** statfs f_type of file systems shared between machines or with a VM's host (linux/magic.h and friends). */
const NETWORK_FS: Record<string, string> = {
  "26985": "nfs", // 0x6969
  "20859": "smb", // 0x517b
  "4283649346": "cifs", // 0xff534d42
  "4266872130": "smb2", // 0xfe534d42
  "16914839": "9p", // 0x01021997 (VM and WSL shares)
  "1746473059": "virtiofs", // 0x6a656a63
  "1397113167": "afs", // 0x5346414f
  "12805120": "ceph", // 0x00c36400
  "1935894131": "coda", // 0x73757245
  "198183888": "lustre", // 0x0bd00bd0
  "1196443219": "gpfs", // 0x47504653
  "18225520": "gfs2", // 0x01161970
  "1952539503": "ocfs2", // 0x7461636f
};

export class ProcessLock {
  private server: net.Server | undefined;
  private address: string | undefined;
  /** Linux: the lock socket's file name, and its folder's descriptor from acquire to release (see socketPath). */
  private socketName = "";
  private dirFd: number | undefined;
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
    /** A lock only this machine's processes contend for (the receiver's staging): a network file system is fine. */
    private readonly machineLocal = false,
  ) {}

  /**
   * Two spellings of one trail (a symlinked folder, another letter case on a case-insensitive
   * disk, a bind mount) must share one lock. On Linux the lock is a file in the trail's folder,
   * so the file system itself decides what is the same trail. The Windows pipe is named after
   * the folder's identity (device and inode, the file name case-folded).
   */
  private nameLock(): void {
    if (this.named) return;
    const dir = path.dirname(this.resourcePath);
    const base = path.basename(this.resourcePath);
    if (this.kind === "directory") this.address = undefined;
    else if (process.platform === "linux") {
      if (!this.machineLocal) checkLocalFileSystem(dir);
      this.socketName = `${base}.lock.sock`;
      this.address = "linux-socket";
    } else if (process.platform === "win32") {
      const st = fs.statSync(dir, { bigint: true });
      const id = createHash("sha256").update(`${st.dev}:${st.ino}:${base.toLowerCase()}`).digest("hex").slice(0, 32);
      this.address = `\\\\?\\pipe\\agent-audit-trail-${id}`;
    }
    this.lockDir = path.join(fs.realpathSync.native(dir), `${base}.lock`);
    this.named = true;
  }

  /**
   * Where the socket is bound and connected: through the folder's descriptor
   * (/proc/self/fd/N/…), because a socket path may be at most 107 bytes and a workspace's path
   * is often longer; the descriptor also pins the folder that was opened, whatever happens to
   * its path meanwhile. Without /proc, the folder's path itself.
   */
  private socketPath(name = this.socketName): string {
    if (this.dirFd === undefined) {
      const dir = path.dirname(this.resourcePath);
      this.dirFd = fs.existsSync("/proc/self/fd") ? fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY) : -1;
    }
    return this.dirFd >= 0 ? `/proc/self/fd/${this.dirFd}/${name}` : path.join(path.dirname(this.resourcePath), name);
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
    // A holder killed with -9 a moment ago (a receiver restarted at once) leaves a socket too
    // young to judge (see removeIfDead): look again until it is old enough, then give up.
    const until = Date.now() + BIND_GRACE_MS + 250;
    for (;;) {
      // A second try: the first one removes a dead holder's socket.
      if ((await this.tryAcquire()) || (await this.tryAcquire())) return true;
      const st = this.address === "linux-socket" ? lstatOrUndefined(this.socketPath()) : undefined;
      const young = st?.isSocket() && Date.now() - Number(st.ctimeMs) < BIND_GRACE_MS;
      if (!young || Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  release(): void {
    this.wanted = false;
    if (this.server) {
      // libuv unlinks the socket's file, then closes it: never a dead file of a live holder.
      this.server.close();
      this.server = undefined;
    }
    // Only now: libuv unlinked the file through this descriptor's /proc path.
    if (this.dirFd !== undefined && this.dirFd >= 0) fs.closeSync(this.dirFd);
    this.dirFd = undefined;
    if (this.holdingDir) {
      this.holdingDir = false;
      fs.rmSync(this.lockDir, { recursive: true, force: true });
    }
  }

  private async tryAcquire(): Promise<boolean> {
    if (this.address === undefined) return this.tryAcquireDir();
    if (this.address === "linux-socket") {
      if (await this.listen(this.socketPath())) return true;
      await this.removeIfDead();
      return false;
    }
    return this.listen(this.address);
  }

  /** Binds the lock's socket: true when this process now holds the lock. */
  private listen(address: string): Promise<boolean> {
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
      server.listen({ path: address, exclusive: true }, () => {
        server.off("error", onError);
        server.unref();
        this.server = server;
        resolve(true);
      });
    });
  }

  /**
   * The lock's file exists but we could not bind it: connect to it (which also tells a live
   * holder we are waiting). Nobody listening means its holder died: remove the file, under the
   * takeover lock, after checking again that it is the same dead file and not a new holder's.
   */
  private async removeIfDead(): Promise<void> {
    const file = this.socketPath();
    const seen = lstatOrUndefined(file);
    if (!seen) return; // released meanwhile: bind again
    // A holder binds its socket, then listens: in between (microseconds, longer if it is
    // preempted) connecting is refused although it is alive. So a socket only a moment old is
    // never judged dead; a killed holder's is taken over a second later.
    if (seen.isSocket() && (Date.now() - Number(seen.ctimeMs) < BIND_GRACE_MS || (await probe(file)) !== "dead")) return;
    const takeover = this.socketPath(`${this.socketName}.takeover`);
    try {
      fs.mkdirSync(takeover);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const st = lstatOrUndefined(takeover);
      if (st && Date.now() - Number(st.mtimeMs) > STALE_TAKEOVER_MS) fs.rmSync(takeover, { recursive: true, force: true });
      return;
    }
    try {
      const now = lstatOrUndefined(file);
      // Same inode and change time as the file found dead (not a new holder's that reused the
      // inode number), and still nobody listening. Anything that is not a socket (a planted
      // file, link or FIFO) is not a holder either.
      const same = now && now.ino === seen.ino && now.ctimeNs === seen.ctimeNs;
      if (same && (!now.isSocket() || (await probe(file)) === "dead")) fs.rmSync(file, { recursive: true, force: true });
    } finally {
      fs.rmSync(takeover, { recursive: true, force: true });
    }
  }

  private pokeHolder(): void {
    if (this.address === undefined || this.address === "linux-socket") return; // the Linux waiter's probe pokes
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

function lstatOrUndefined(file: string): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(file, { bigint: true });
  } catch {
    return undefined;
  }
}

/** Whether anything listens on the socket file: "dead" only when the kernel says nobody does. */
function probe(file: string): Promise<"alive" | "dead" | "unknown"> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: file });
    socket.once("connect", () => {
      socket.destroy();
      resolve("alive");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      socket.destroy();
      // ECONNREFUSED: a socket file nobody listens on (or not a socket). A full backlog
      // (EAGAIN) means a live, busy holder; ENOENT, a file already removed.
      resolve(err.code === "ECONNREFUSED" || err.code === "ENOTSOCK" ? "dead" : "unknown");
    });
  });
}

/** Refuses to take a lock on a network file system (TrailError NETWORK_FS), unless told only this machine writes. */
function checkLocalFileSystem(dir: string): void {
  if (process.env.AGENT_AUDIT_NETWORK_FS === "single-writer") return;
  let type: string | undefined;
  try {
    type = NETWORK_FS[String(fs.statfsSync(dir).type)];
  } catch {
    return; // statfs unsupported: nothing to tell
  }
  if (type) {
    throw new TrailError(
      "NETWORK_FS",
      `${dir} is on a network file system (${type}): a writer on another machine could append to this trail at the same time, and no lock here can stop it. ` +
        "Keep the trail on a local disk, or, if only this machine ever writes it, set AGENT_AUDIT_NETWORK_FS=single-writer.",
      dir,
    );
  }
}
