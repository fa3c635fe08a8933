import * as fs from "node:fs";
import * as path from "node:path";

/** What tells us a file was replaced or changed by someone else since we last looked. */
export interface FileIdentity {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function fileIdentity(file: string): FileIdentity | undefined {
  try {
    const s = fs.statSync(file, { bigint: true });
    return { ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  if (!a || !b) return a === b;
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Prefix of temp files, so a crashed writer's leftovers can be recognised and removed. */
export const TEMP_MARKER = ".tmp-";

/**
 * Replaces `file` with `bytes` so that a reader (or a crash) sees either the old file or the
 * new one, never a mix: write a temp file in the same folder, fsync it, rename it over, and
 * fsync the folder so the rename itself is durable.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array, openTemp: (tmp: string) => number = (tmp) => fs.openSync(tmp, "wx", 0o644)): FileIdentity {
  const tmp = tempPathFor(file);
  // `openTemp` creates the temp file (exclusively): a caller with checks of its own (owner,
  // mode, no link) opens it its way.
  const fd = openTemp(tmp);
  try {
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
  return fileIdentity(file)!;
}

/** A unique temp file beside `file`, named with our pid so others can tell whether it is live. */
export function tempPathFor(file: string): string {
  return `${file}${TEMP_MARKER}${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/** Writes and fsyncs a new file without blocking the event loop (for large snapshots). */
export async function writeFileDurably(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.promises.open(file, "wx", 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function fsyncDir(dir: string): void {
  // Windows cannot open a folder for fsync; its renames are durable by other means.
  if (process.platform === "win32") return;
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A temp file untouched this long is not being written (a snapshot or seal takes seconds). */
const STALE_TEMP_MS = 60_000;

/**
 * Removes temp files left by a writer that crashed mid-write: those whose pid is no longer
 * running and that nobody has written to for a minute. A live process may be writing a
 * snapshot in the background right now, and the pid alone cannot tell: a writer in another
 * PID namespace (a Dev Container sharing the workspace) has a pid that means nothing here.
 */
export function removeStaleTempFiles(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + TEMP_MARKER;
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    if (name.startsWith(prefix) && !isRunning(pid) && ageMs(path.join(dir, name)) > STALE_TEMP_MS) {
      // Our temp files are files; a folder (or FIFO…) of that name, say one a repository
      // shipped, is not ours to delete, and must not stop the writer either.
      const st = fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false });
      if (!st || !(st.isFile() || st.isSymbolicLink())) continue;
      fs.rmSync(path.join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.lstatSync(file).mtimeMs;
  } catch {
    return 0; // gone already
  }
}

/** Whether a process with this pid exists on this machine. */
export function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * `mkdir -p` whose new folders survive a power loss. On a file system with strict POSIX
 * semantics a new directory entry is durable only once the folder holding it is fsync'd:
 * without that, a brand-new trail's acknowledged events (fsync'd in their own files) can
 * vanish with the folder they were written into. Each folder this call created, and the
 * parent of the first, is fsync'd.
 */
export function mkdirDurable(dir: string, mode?: number): void {
  const first = fs.mkdirSync(dir, { recursive: true, ...(mode !== undefined ? { mode } : {}) });
  if (!first) return;
  const top = path.resolve(first);
  const chain: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    chain.push(d);
    if (d === top || path.dirname(d) === d) break;
  }
  for (const d of [path.dirname(top), ...chain.reverse()]) {
    try {
      fsyncDir(d);
    } catch (err) {
      // A parent this user may only pass through (no read permission) cannot be opened to be
      // fsync'd: the folder is made all the same.
      if ((err as NodeJS.ErrnoException).code !== "EACCES" && (err as NodeJS.ErrnoException).code !== "EPERM") throw err;
    }
  }
}
