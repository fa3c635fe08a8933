import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EventInput } from "../../trail/store/eventTypes";
import { queryAll } from "../../trail/reading/trailQueries";
import { TrailReader } from "../../trail/reading/trailReader";
import type { TrailStore } from "../../trail/store/trailStore";
import type { GapMarker } from "../hookSpool";
import { markGap, pruneSpool, readGaps, readRecords, removeRecords } from "../hookSpool";
import { checkHookPayload, isSafeId } from "./hookRecord";
import type { HookedRecord, SessionInput } from "./sessionEvents";
import { factId, mapSession } from "./sessionEvents";
import type { Transcript } from "./transcript";
import { parseTranscript, prefixSha256, readTranscriptFile } from "./transcript";

/** Rewrites content so that no secret reaches the trail (the same redaction as our own agent's). */
export type Redact = <T>(value: T) => Promise<T>;

export interface ImportResult {
  session_id: string;
  written: number;
  gaps: number;
  ended: boolean;
}

/**
 * Writes one session's events that are not in the trail yet (so an import repeated, or racing
 * another, adds nothing twice), each redacted, and a `transcript_import` record of the
 * transcript's SHA-256 and size whenever it holds something not imported before: a later import
 * compares the file's start with what earlier ones hashed, and says when it was edited since.
 */
export async function writeSession(store: TrailStore, input: SessionInput, redact: Redact): Promise<ImportResult> {
  const mapped = mapSession(input);
  const sid = mapped.trailSessionId;
  await store.refresh();
  const reader = new TrailReader(store);
  let existing: Set<string>;
  let earlier: { sha256: string; bytes: number }[] = [];
  try {
    const db = reader.sessionDatabase(sid);
    existing = new Set(queryAll<{ event_id: string }>(db, "SELECT event_id FROM events WHERE session_id = ?", [sid]).map((r) => r.event_id));
    earlier = queryAll<{ sha: string; bytes: number }>(db, "SELECT json_extract(content, '$.transcript.sha256') AS sha, json_extract(content, '$.transcript.bytes') AS bytes FROM events WHERE session_id = ? AND event_type = 'transcript_import'", [sid])
      .filter((r) => typeof r.sha === "string")
      .map((r) => ({ sha256: r.sha, bytes: Number(r.bytes) }));
  } finally {
    reader.release();
  }
  const fresh = mapped.events.filter((e) => !existing.has(e.event_id!));
  const newGaps = fresh.filter((e) => e.content.capture_gap).length;
  const t = input.transcript;
  if (t && mapped.events.length && !earlier.some((x) => x.sha256 === t.sha256) && !existing.has(factId(sid, `transcript:${t.sha256}`))) {
    const edited = earlier.filter((x) => x.bytes <= t.bytes && prefixSha256(t.file, x.bytes) !== x.sha256);
    const record: EventInput = {
      session_id: sid,
      agent_id: "claude-code",
      agent_version: t.version,
      event_type: "transcript_import",
      event_id: factId(sid, `transcript:${t.sha256}`),
      step_number: Math.max(0, ...mapped.events.map((e) => e.step_number ?? 0)),
      content: {
        transcript: { path: t.file, sha256: t.sha256, bytes: t.bytes, skipped_lines: t.skipped, version: t.version },
        added: fresh.length,
        capture_gaps: newGaps,
        ...(edited.length ? { edited_since: edited, warning: "the transcript's start no longer matches what an earlier import hashed: it was edited after that import" } : {}),
      },
    };
    // Before the session's end, which stays its last event.
    const endAt = fresh.findIndex((e) => e.event_type === "session_end");
    fresh.splice(endAt < 0 ? fresh.length : endAt, 0, record);
  }
  const ready: EventInput[] = [];
  for (const e of fresh) {
    const content = await redact(e.content);
    // The digest is of the output as the trail keeps it (after redaction), as for our own tools.
    if (typeof content.output === "string") content.output_sha256 = createHash("sha256").update(content.output, "utf8").digest("hex");
    ready.push({ ...e, content });
  }
  await Promise.all(ready.map((e) => store.append(e)));
  return { session_id: sid, written: ready.length, gaps: newGaps, ended: input.ended };
}

/** Reads a session's transcript if it is one it may be: `<session id>.jsonl`, a regular file of this user's. */
export function loadTranscript(file: string | undefined, sessionId?: string): { transcript?: Transcript; problem?: string } {
  if (!file) return { problem: "no transcript path was recorded" };
  if (!path.isAbsolute(file) || !file.endsWith(".jsonl") || (sessionId && path.basename(file) !== `${sessionId}.jsonl`)) return { problem: `${file} is not where Claude Code keeps this session's transcript; it was not read` };
  try {
    return { transcript: parseTranscript(file, readTranscriptFile(file)) };
  } catch (err) {
    return { problem: `the transcript could not be read: ${(err as Error).message}` };
  }
}

/** A record that does not parse and is younger than this is left for the next import (its hook may still be writing it). */
const IN_PROGRESS_MS = 30_000;

export interface SpoolImportOptions {
  spool: string;
  /** The trail every session goes to; none: the trail of the folder each session ran in. */
  workspace?: string;
  openStore: (workspace: string) => Promise<TrailStore>;
  redact: Redact;
  log: (m: string) => void;
}

/**
 * Writes every session the spool holds records of into its trail, with its transcript; the
 * records of a session that ended are removed once it is in the trail (the others are kept:
 * the next import aligns the rest of the session with them). Records that fail the checks are
 * removed and leave a gap marker saying why.
 */
export async function importSpool(o: SpoolImportOptions): Promise<ImportResult[]> {
  pruneSpool(o.spool);
  const bySession = new Map<string, { records: HookedRecord[]; files: string[] }>();
  const refused: string[] = [];
  for (const r of readRecords(o.spool)) {
    const event = path.basename(r.file).split(".")[0];
    const checked = r.text !== undefined ? checkHookPayload(r.text) : undefined;
    if (!checked?.ok) {
      // A hook writes its record in place: one that does not parse yet may still be being written (another session's).
      if (r.text !== undefined && Date.now() - r.at < IN_PROGRESS_MS) continue;
      const reason = r.refused ?? (checked && !checked.ok ? checked.reason : "unreadable");
      markGap(o.spool, { event: checked && !checked.ok ? checked.event ?? event : event, session_id: checked && !checked.ok ? checked.session_id : undefined, reason: `its record was refused: ${reason}`, at: r.at });
      o.log(`refused the hook record ${r.file}: ${reason}`);
      refused.push(r.file);
      continue;
    }
    const s = bySession.get(checked.payload.session_id) ?? { records: [], files: [] };
    s.records.push({ payload: checked.payload, at: r.at });
    s.files.push(r.file);
    bySession.set(checked.payload.session_id, s);
  }
  removeRecords(refused);
  const gaps = readGaps(o.spool);
  const stores = new Map<string, TrailStore>();
  const results: ImportResult[] = [];
  try {
    for (const [sessionId, s] of bySession) {
      const ws = o.workspace ?? s.records.find((r) => r.payload.cwd)?.payload.cwd;
      if (!ws || !path.isAbsolute(ws) || !fs.statSync(ws, { throwIfNoEntry: false })?.isDirectory()) {
        o.log(`session ${sessionId}: no folder to put it in (its cwd ${JSON.stringify(ws)} is not a folder); kept in the spool`);
        continue;
      }
      const ended = s.records.some((r) => r.payload.hook_event_name === "SessionEnd");
      const { transcript, problem } = loadTranscript(s.records.find((r) => r.payload.transcript_path)?.payload.transcript_path, sessionId);
      try {
        let store = stores.get(ws);
        if (!store) stores.set(ws, (store = await o.openStore(ws)));
        const res = await writeSession(store, { sessionId, records: s.records, transcript, transcriptProblem: problem, gaps: gapsOf(gaps, sessionId), ended }, o.redact);
        results.push(res);
        if (ended) removeRecords(s.files);
      } catch (err) {
        o.log(`session ${sessionId}: not written to the trail of ${ws} (kept in the spool, written by the next import): ${(err as Error).message}`);
      }
    }
  } finally {
    for (const st of stores.values()) await st.close();
  }
  return results;
}

const gapsOf = (gaps: GapMarker[], sessionId: string) => gaps.filter((g) => !g.session_id || g.session_id === sessionId);

export interface TranscriptImportOptions {
  files: string[];
  store: TrailStore;
  /** The spool of hook records for this workspace, if connected: a hooked session's records are aligned with its transcript. */
  spool?: string;
  redact: Redact;
  log: (m: string) => void;
}

/** Imports transcripts (past sessions, or hooked ones again): one session each, idempotently. */
export async function importTranscripts(o: TranscriptImportOptions): Promise<ImportResult[]> {
  const records = new Map<string, HookedRecord[]>();
  for (const r of o.spool ? readRecords(o.spool) : []) {
    const c = r.text !== undefined ? checkHookPayload(r.text) : undefined;
    if (c?.ok) records.set(c.payload.session_id, [...(records.get(c.payload.session_id) ?? []), { payload: c.payload, at: r.at }]);
  }
  const gaps = o.spool ? readGaps(o.spool) : [];
  const out: ImportResult[] = [];
  for (const file of o.files) {
    const { transcript, problem } = loadTranscript(path.resolve(file));
    if (!transcript) {
      o.log(`${file}: ${problem}`);
      continue;
    }
    const sessionId = transcript.session_id ?? path.basename(file, ".jsonl");
    if (!isSafeId(sessionId)) {
      o.log(`${file}: its session id is not one Claude Code gives; not imported`);
      continue;
    }
    const hooked = records.get(sessionId) ?? [];
    // A session whose hooks are still recording (no SessionEnd yet) is not ended by an import.
    const ended = hooked.length === 0 || hooked.some((r) => r.payload.hook_event_name === "SessionEnd");
    out.push(await writeSession(o.store, { sessionId, records: hooked, transcript, gaps: gapsOf(gaps, sessionId), ended }, o.redact));
  }
  return out;
}

/** The folder Claude Code keeps a project's transcripts in: its path with every character but letters and digits made "-". */
export function projectTranscriptDir(claudeDir: string, workspace: string): string {
  return path.join(claudeDir, "projects", path.resolve(workspace).replace(/[^A-Za-z0-9]/g, "-"));
}
