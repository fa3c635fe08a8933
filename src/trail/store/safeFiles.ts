import * as fs from "node:fs";
import { mkdirDurable } from "./durableFile";
import * as path from "node:path";
import { TrailError } from "./trailErrors";

/**
 * A workspace's `.agent-audit/` is whatever the repository shipped: symlinks, FIFOs, device
 * files, sparse files, hard links, names chosen by someone else. Everything the store opens
 * there goes through this file: only regular files, never through a link, never blocking on a
 * special file, never larger than the store itself ever writes, and only names it makes.
 *
 * The checks are made when a file is opened. They do not guard against another local user
 * swapping files between the check and the open; the threat here is what was in the clone.
 */

/**
 * The trail folder (or the trust store) holds something Agent Audit will not open: a link, a
 * special file, a file too large, a name it does not make, a file others may write. Its message
 * is one line for the user (what was refused, and what to do); the VS Code views show it as is.
 */
export class UnsafeTrailFileError extends TrailError {
  constructor(message: string, file: string) {
    super("UNSAFE_FILE", message, file);
    this.name = "UnsafeTrailFileError";
  }
}

const MiB = 1024 * 1024;
/** trail.db: the active segment (sealed at ~8 MiB); a trail from before segments may be larger. */
export const MAX_SNAPSHOT_BYTES = 512 * MiB;
/** The journal is rewritten into trail.db once it passes half of it (8 MiB at least). */
export const MAX_JOURNAL_BYTES = 512 * MiB;
/** A sealed segment is the active segment as it was sealed (~8 MiB). */
export const MAX_SEGMENT_BYTES = 256 * MiB;
/** A key, pin, anchor or seal file of the trust store or an archive: a few KB. */
export const MAX_SMALL_FILE_BYTES = 4 * MiB;

// Windows has neither; there the lstat check stands alone.
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** What a non-regular file is, in words. */
function kindOf(st: fs.Stats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isDirectory()) return "a folder";
  return "not a regular file";
}

function notRegular(file: string, st: fs.Stats): UnsafeTrailFileError {
  return new UnsafeTrailFileError(
    `${file} is ${kindOf(st)}; Agent Audit opens only regular files in the trail folder (a repository can ship links and special files there). ` +
      `Nothing was read or written; remove it, or move the .agent-audit folder aside.`,
    file,
  );
}

/** lstat of a file that must be regular if it exists: undefined when absent, refused when anything else. */
export function regularFileStat(file: string): fs.Stats | undefined {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (!st.isFile()) throw notRegular(file, st);
  return st;
}

/** Refuses a size beyond what the store ever writes at this place, before anything is read. */
export function checkSize(file: string, size: number, max: number): void {
  if (size > max) {
    throw new UnsafeTrailFileError(
      `${file} is ${size} bytes, more than Agent Audit ever writes there (at most ${Math.round(max / MiB)} MiB): it was not made by Agent Audit. Nothing was read; move it aside.`,
      file,
    );
  }
}

/**
 * Opens a regular file without following a link and without blocking (a FIFO or device is
 * refused after the open, which O_NONBLOCK keeps from waiting). With `singleName` (files
 * written in place), a file with other names (hard links) is refused: writing it would change
 * the other name's file too, which may be outside the trail folder.
 */
export function openRegularFile(file: string, mode: "r" | "r+", opts: { singleName?: boolean } = {}): number {
  const st = regularFileStat(file);
  if (!st) throw Object.assign(new Error(`ENOENT: no such file, open '${file}'`), { code: "ENOENT" });
  let fd: number;
  try {
    fd = fs.openSync(file, (mode === "r" ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    // Replaced by a link between the lstat and the open.
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw notRegular(file, fs.lstatSync(file));
    throw err;
  }
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile()) throw notRegular(file, fst);
    if (opts.singleName && fst.nlink > 1) {
      throw new UnsafeTrailFileError(
        `${file} has ${fst.nlink} names (hard links); Agent Audit writes it in place, so it writes only a file with one name (another name may be a file outside the trail folder). ` +
          `Nothing was written; replace it with a copy (cp ${path.basename(file)} x && mv x ${path.basename(file)}) if it is yours.`,
        file,
      );
    }
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** A regular file's bytes, refused (unread) when it is larger than `max`. */
export function readRegularFile(file: string, max: number): Buffer {
  const fd = openRegularFile(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    checkSize(file, size, max);
    return readOpenFile(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A folder that must be a real folder if it exists: false when absent. A symbolic link is
 * refused, unless `linkWithin` is given and the link resolves to a folder inside it (a trail
 * folder linked elsewhere in the same workspace stays in the workspace).
 */
export function checkRealFolder(dir: string, what: string, linkWithin?: string): boolean {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return false;
  if (st.isSymbolicLink()) {
    let target = "";
    let real: string | undefined;
    try {
      target = ` (to ${fs.readlinkSync(dir)})`;
      real = fs.realpathSync.native(dir);
    } catch {
      /* dangling, or gone meanwhile */
    }
    if (real && linkWithin) {
      const within = fs.realpathSync.native(linkWithin);
      if (real.startsWith(within + path.sep) && fs.statSync(real).isDirectory()) return true;
    }
    throw new UnsafeTrailFileError(
      `${dir} is a symbolic link${target}: ${what} must be a real folder inside the workspace, or the trail would be read from and written to wherever it points. ` +
        `Nothing was read or written there; remove the link (a repository can ship one) to start a trail here.`,
      dir,
    );
  }
  if (!st.isDirectory()) throw new UnsafeTrailFileError(`${dir} is ${kindOf(st)}, not a folder: ${what} cannot be there. Nothing was read or written; move it aside.`, dir);
  return true;
}

/**
 * The trail's folder (`.agent-audit`) is a real folder or a link to one inside the same
 * workspace, and its `segments/` a real folder: never a link out of the workspace. With
 * `create`, the trail folder is made when it is missing.
 */
export function checkTrailFolders(trailPath: string, opts: { create?: boolean } = {}): void {
  const dir = path.dirname(path.resolve(trailPath));
  const workspace = path.dirname(dir);
  if (!checkRealFolder(dir, "the trail folder", workspace)) {
    if (!opts.create) return;
    mkdirDurable(dir);
    checkRealFolder(dir, "the trail folder", workspace);
  }
  checkRealFolder(path.join(dir, "segments"), "the trail folder's segments/");
}

/** What `meta.trail_id` may be: it names files in the trust store (anchors/<trail_id>.json). */
const TRAIL_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Refuses a trail id that could not safely be part of a file name (`../`, separators, control characters). */
export function checkTrailId(trailId: string, file: string): void {
  if (TRAIL_ID.test(trailId)) return;
  throw new UnsafeTrailFileError(
    `${file}: its trail id ${JSON.stringify(trailId.slice(0, 200))} is not one Agent Audit makes (letters, digits, "-" and "_", at most 128): the file was edited. ` +
      `Nothing was read from or written to your trust store for it; move the .agent-audit folder aside to start a new trail.`,
    file,
  );
}

/** Whether a trail id is one that may name a file (see checkTrailId). */
export function isSafeTrailId(trailId: unknown): trailId is string {
  return typeof trailId === "string" && TRAIL_ID.test(trailId);
}

/**
 * A folder or file of the user's trust store must be the user's own and writable by nobody
 * else: a key, anchor or pin another user could have put there must not decide what
 * "authenticated" means. Follows links (the file pointed at is what is read). False when absent.
 */
export function checkTrustStorePath(p: string): boolean {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return false;
  if (process.platform === "win32" || typeof process.getuid !== "function") return true;
  const uid = process.getuid();
  if (st.uid !== uid && st.uid !== 0) {
    throw new UnsafeTrailFileError(
      `${p} is owned by another user (uid ${st.uid}): what your trust store holds decides what "authenticated" means, so only your own files count. ` +
        `Nothing was trusted; if it is yours, run: chown ${uid} ${p}`,
      p,
    );
  }
  if (st.mode & 0o022) {
    throw new UnsafeTrailFileError(
      `${p} is writable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod go-w ${p} — anyone who can write there could plant a trusted key, anchor or pin. Nothing was trusted.`,
      p,
    );
  }
  if (!st.isFile() && !st.isDirectory()) throw notRegular(p, st);
  return true;
}

/** A small file of the trust store, checked (owner, mode, regular) and read with a bound; undefined when absent. */
export function readTrustStoreFile(file: string): Buffer | undefined {
  if (!checkTrustStorePath(file)) return undefined;
  return readSmallRegularFile(file);
}

/**
 * A small regular file, links followed (a user's own dotfile links), but never waiting on a
 * FIFO or device and never larger than `max`: for files of a workspace that are read whole
 * (`.vscode/settings.json`), and the trust store's. Undefined when absent.
 */
export function readSmallRegularFile(file: string, max = MAX_SMALL_FILE_BYTES): Buffer | undefined {
  let fd: number;
  try {
    // Not even opened when it is a device or FIFO (opening some devices does something).
    const pre = fs.statSync(file);
    if (!pre.isFile()) throw notRegular(file, pre);
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular(file, st);
    checkSize(file, st.size, max);
    return readOpenFile(fd, st.size);
  } finally {
    fs.closeSync(fd);
  }
}

/** The first `size` bytes of an open file (fewer if it is shorter by then: it may have shrunk). */
export function readOpenFile(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const n = fs.readSync(fd, buf, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}
