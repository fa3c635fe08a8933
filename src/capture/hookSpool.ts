import { createHash, randomBytes } from "node:crypto";
import { mkdirDurable } from "../trail/store/durableFile";
import { readOpenFile } from "../trail/store/safeFiles";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Where an agent's hooks leave what they were handed, until it is written into the trail: one
 * file per hook call (`<Event>.<random>.json`) in a folder of the user's own state folder (the
 * trust store's, never the workspace), created 0700 and checked to be the user's and writable by
 * nobody else. A hook must return at once, so it only writes its stdin there (a shell one-liner,
 * no Node start-up); everything in a record is checked when it is read (its size, its JSON, its
 * ids), because what an agent hands its hooks includes tool output, which anyone can shape.
 * A hook that could not write its record appends a line to `gaps.jsonl` instead, so the import
 * can say that a hook ran and failed rather than that it never ran.
 */
export class SpoolError extends Error {}

/** Records larger than this are not read (a record of exactly this size was cut short by the hook). */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
/** Records are read in a pass of at most this many bytes in total. */
const MAX_PASS_BYTES = 256 * 1024 * 1024;
const MAX_GAP_LINES = 10_000;

const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** The spool folder of an agent's hooks for one trail (`key`), created private if it is not there. */
export function spoolDir(stateDir: string, agent: string, key: string): string {
  const dir = path.join(stateDir, `${agent}-spool`, key);
  privateDir(path.dirname(dir));
  privateDir(dir);
  return dir;
}

/** The spool key of a workspace's trail: a hash of its real path (two spellings of one folder share it). */
export function workspaceSpoolKey(workspace: string): string {
  let real = path.resolve(workspace);
  try {
    real = fs.realpathSync(real);
  } catch {
    /* not there: its own path names it */
  }
  return `ws-${createHash("sha256").update(real).digest("hex").slice(0, 32)}`;
}

function privateDir(dir: string): void {
  mkdirDurable(dir, 0o700);
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new SpoolError(`the spool folder ${dir} is not a folder (a symbolic link?); remove it and connect again`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new SpoolError(`the spool folder ${dir} belongs to another user (uid ${st.uid}); remove it and connect again`);
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

export interface SpoolRecord {
  file: string;
  /** When the hook wrote it (the file's modification time, ms). */
  at: number;
  /** The record's text, or why it was not read. */
  text?: string;
  refused?: string;
}

/** Every finished record in the folder, oldest first (unfinished ones, still being written or cut short, are left). */
export function readRecords(dir: string): SpoolRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: SpoolRecord[] = [];
  let budget = MAX_PASS_BYTES;
  for (const name of names) {
    if (!/^[A-Za-z]{1,40}\.[A-Za-z0-9-]{6,64}\.json$/.test(name)) continue;
    const file = path.join(dir, name);
    const r = readOne(file, budget);
    if (r.text) budget -= r.text.length;
    out.push(r);
  }
  return out.sort((a, b) => a.at - b.at || a.file.localeCompare(b.file));
}

function readOne(file: string, budget: number): SpoolRecord {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | NOFOLLOW | NONBLOCK);
  } catch (err) {
    return { file, at: 0, refused: `it cannot be opened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; a symbolic link?)` };
  }
  try {
    const st = fs.fstatSync(fd);
    const at = st.mtimeMs;
    const uid = process.getuid?.();
    if (!st.isFile()) return { file, at, refused: "it is not a regular file" };
    if (uid !== undefined && st.uid !== uid) return { file, at, refused: `it belongs to another user (uid ${st.uid})` };
    if (st.nlink > 1) return { file, at, refused: "it has other hard links" };
    if (st.size >= MAX_RECORD_BYTES) return { file, at, refused: `it is at least ${MAX_RECORD_BYTES / 1024 / 1024} MB (the hook keeps no more: it was cut short)` };
    if (st.size > budget) return { file, at, refused: "this pass read its limit of records; it is read by the next" };
    return { file, at, text: readOpenFile(fd, st.size).toString("utf8") };
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes one record as a hook would (used by `agent-audit hook`, which has Node already). */
export function writeRecord(dir: string, event: string, text: string): string {
  const name = `${event.replace(/[^A-Za-z]/g, "").slice(0, 40) || "Unknown"}.${randomBytes(8).toString("hex")}`;
  const part = path.join(dir, name);
  const fd = fs.openSync(part, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(part, `${part}.json`);
  return `${part}.json`;
}

export interface GapMarker {
  event: string;
  at: number;
  reason: string;
  session_id?: string;
  tool_use_id?: string;
}

/** Appends a gap marker: a hook ran and could not record. Never throws (there is nothing left to tell). */
export function markGap(dir: string, m: Omit<GapMarker, "at"> & { at?: number }): void {
  try {
    fs.appendFileSync(path.join(dir, "gaps.jsonl"), JSON.stringify({ ...m, at: new Date(m.at ?? Date.now()).toISOString() }) + "\n", { mode: 0o600, flag: "a" });
  } catch {
    /* the folder itself is gone or full: the import then finds no record at all */
  }
}

/** The gap markers hooks left (malformed lines skipped). */
export function readGaps(dir: string): GapMarker[] {
  const file = path.join(dir, "gaps.jsonl");
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | NOFOLLOW | NONBLOCK);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.size > MAX_RECORD_BYTES) return [];
      text = fs.readFileSync(fd, "utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const out: GapMarker[] = [];
  for (const line of text.split("\n").slice(-MAX_GAP_LINES)) {
    try {
      const g = JSON.parse(line) as Record<string, unknown>;
      const at = Date.parse(String(g.at));
      if (typeof g.event !== "string" || !Number.isFinite(at)) continue;
      out.push({
        event: g.event.slice(0, 40),
        at,
        reason: String(g.reason ?? "the hook could not record").slice(0, 500),
        session_id: typeof g.session_id === "string" ? g.session_id : undefined,
        tool_use_id: typeof g.tool_use_id === "string" ? g.tool_use_id : undefined,
      });
    } catch {
      /* a torn or foreign line */
    }
  }
  return out;
}

/** Removes records once they are in the trail. */
export function removeRecords(files: string[]): void {
  for (const f of files) fs.rmSync(f, { force: true });
}

/** Drops stray files and gap markers older than `maxAgeMs`: whatever they could explain has been imported by then. */
export function pruneSpool(dir: string, maxAgeMs = 24 * 3600_000): void {
  const now = Date.now();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.endsWith(".json") || name === "gaps.jsonl" || name.startsWith("import")) continue;
    const file = path.join(dir, name);
    try {
      const st = fs.lstatSync(file);
      if (st.isFile() && now - st.mtimeMs > maxAgeMs) fs.rmSync(file, { force: true });
    } catch {
      /* gone meanwhile */
    }
  }
  const gaps = path.join(dir, "gaps.jsonl");
  const kept = readGaps(dir).filter((g) => now - g.at <= maxAgeMs);
  try {
    if (fs.existsSync(gaps) && kept.length !== readGaps(dir).length) {
      fs.writeFileSync(`${gaps}.tmp`, kept.map((g) => JSON.stringify({ ...g, at: new Date(g.at).toISOString() }) + "\n").join(""), { mode: 0o600 });
      fs.renameSync(`${gaps}.tmp`, gaps);
    }
  } catch {
    /* kept for the next pass */
  }
}
