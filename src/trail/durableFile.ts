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
export function writeFileAtomic(file: string, bytes: Uint8Array): FileIdentity {
  const tmp = `${file}${TEMP_MARKER}${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = fs.openSync(tmp, "wx", 0o644);
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

/** Removes temp files left by a writer that crashed mid-write. Call only under the trail lock. */
export function removeStaleTempFiles(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + TEMP_MARKER;
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(prefix)) {
      fs.rmSync(path.join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}
