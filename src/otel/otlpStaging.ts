import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import { mkdirDurable, writeFileAtomic } from "../trail/store/durableFile";
import * as path from "node:path";

/**
 * Where received records wait (fsync'd) until they are in the trail. Staging belongs to this
 * user and this receiver only: it lives in the user's own state folder (the trust store's,
 * never the workspace, which a cloned repository fills), one file per trail named by a hash of
 * the trail's real path, opened without following links or blocking, checked to be a regular
 * file of this user that no one else can read, and every line carries an HMAC with a per-user
 * key kept beside it. A line without a valid HMAC was not written by this user's receiver and
 * is never taken up.
 */
export class StagingError extends Error {}

export interface StagingPlace {
  file: string;
  key: Buffer;
}

const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** The staging file of the trail at `trailPath`, in `stateDir`/otlp-staging (created 0700), and the user's staging key. */
export function stagingFor(trailPath: string, stateDir: string): StagingPlace {
  let real = path.resolve(trailPath);
  try {
    real = path.join(fs.realpathSync(path.dirname(real)), path.basename(real));
  } catch {
    /* not there yet: its own path names it */
  }
  const dir = path.join(stateDir, "otlp-staging");
  privateDir(dir);
  const name = createHash("sha256").update(real).digest("hex").slice(0, 32);
  return { file: path.join(dir, `${name}.jsonl`), key: stagingKey(path.join(dir, "staging.key")) };
}

function privateDir(dir: string): void {
  mkdirDurable(dir, 0o700);
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new StagingError(`the staging folder ${dir} is not a folder (a symbolic link?); remove it and start again`);
  ownedPrivately(st, dir, "staging folder", 0o022);
}

function ownedPrivately(st: fs.Stats, file: string, what: string, forbidden: number): void {
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new StagingError(`the ${what} ${file} belongs to another user (uid ${st.uid}); remove it and start again`);
  if (process.platform !== "win32" && (st.mode & forbidden) !== 0) {
    throw new StagingError(`the ${what} ${file} can be ${forbidden & 0o044 ? "read" : "written"} by other users (mode ${(st.mode & 0o777).toString(8)}); chmod go-rwx it, or remove it`);
  }
}

/** Opens `file` as a regular file of this user only (no link followed, no FIFO waited on). */
function openChecked(file: string, flags: number, what: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, flags | NOFOLLOW | NONBLOCK, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "EMLINK") throw new StagingError(`the ${what} ${file} is a symbolic link; remove it (the receiver only uses a regular file of its own)`);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new StagingError(`the ${what} ${file} is not a regular file; remove it`);
    ownedPrivately(st, file, what, 0o077);
    if (st.nlink > 1) throw new StagingError(`the ${what} ${file} has other hard links; remove it`);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

function stagingKey(file: string): Buffer {
  const key = Buffer.from(privateSecret(file, "staging key", () => randomBytes(32).toString("hex")).slice(0, 64), "hex");
  if (key.length !== 32) throw new StagingError(`the staging key ${file} is damaged; remove it (records staged with it are then not taken up)`);
  return key;
}

/**
 * A secret of this user's in a file only they can read (created 0600 with `make` when there is
 * none; never through a link; refused when another user owns it or others can read it).
 */
export function privateSecret(file: string, what: string, make: () => string): string {
  mkdirDurable(path.dirname(file), 0o700);
  try {
    const fd = openChecked(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, what);
    try {
      fs.writeSync(fd, make());
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const fd = openChecked(file, fs.constants.O_RDONLY, what);
  try {
    return fs.readFileSync(fd, "utf8").trim();
  } finally {
    fs.closeSync(fd);
  }
}

/** The staging file of one receiver: authenticated lines, appended and fsync'd, rewritten whole. */
export class StagingFile {
  private fd: number | undefined;
  private readonly bind: string;

  constructor(private readonly place: StagingPlace) {
    // A line is bound to its file (its trail): moved to another trail's staging, it does not verify.
    this.bind = path.basename(place.file);
  }

  get file(): string {
    return this.place.file;
  }

  private mac(json: string): string {
    return createHmac("sha256", this.place.key).update(this.bind).update("\n").update(json).digest("hex");
  }

  /**
   * What an earlier run staged and did not write: the lines this receiver wrote (HMAC valid),
   * how many others were there (never taken up), and whether the last write was unfinished.
   */
  readExisting(): { lines: string[]; foreign: number; torn: boolean } {
    let fd: number;
    try {
      fd = openChecked(this.place.file, fs.constants.O_RDONLY, "staging file");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { lines: [], foreign: 0, torn: false };
      throw err;
    }
    let text: string;
    try {
      text = fs.readFileSync(fd, "utf8");
    } finally {
      fs.closeSync(fd);
    }
    const parts = text.split("\n");
    const last = parts.pop() ?? "";
    const lines: string[] = [];
    let foreign = 0;
    for (const line of parts) {
      if (!line) continue;
      const space = line.indexOf(" ");
      const given = Buffer.from(space === 64 ? line.slice(0, 64) : "", "hex");
      const json = line.slice(space + 1);
      const expected = Buffer.from(this.mac(json), "hex");
      if (given.length === expected.length && timingSafeEqual(given, expected)) lines.push(json);
      else foreign++;
    }
    return { lines, foreign, torn: last.length > 0 };
  }

  /** Opens the file to append (creating it 0600). */
  open(): void {
    this.fd = openChecked(this.place.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, "staging file");
  }

  /** Appends records (each one JSON text, no newline) and fsyncs them. */
  append(jsons: string[]): void {
    if (this.fd === undefined) throw new StagingError("the staging file is not open");
    const bytes = Buffer.from(jsons.map((j) => `${this.mac(j)} ${j}\n`).join(""));
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
    fs.fdatasyncSync(this.fd);
  }

  /** Replaces the file with exactly `jsons` (atomically: a crash leaves the old file or the new one). */
  rewrite(jsons: string[]): void {
    const bytes = Buffer.from(jsons.map((j) => `${this.mac(j)} ${j}\n`).join(""));
    writeFileAtomic(this.place.file, bytes, (tmp) => openChecked(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, "staging file"));
    this.close();
    this.open();
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
