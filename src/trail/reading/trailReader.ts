import * as fs from "node:fs";
import * as path from "node:path";
import type { Database } from "sql.js";
import type { SealRecord } from "../store/segments";
import { readCatalog } from "../store/segments";
import type { CatalogEntry } from "../store/segments";
import { SCHEMA_SQL } from "../store/schema";
import type { EventHead, FailedToolCall, SessionSummary, TrailEventRow } from "./trailQueries";
import {
  eventsBySeq, failedToolCalls, failureCounts, getEvent, getSession, listSessions, mergeSummaries, queryAll, sessionEventHeads,
  sessionsChangedAfter, sessionsMatchingText, sessionSummaryAfter,
} from "./trailQueries";
import type { TrailStore } from "../store/trailStore";
import { placeholders, STORED_EVENT_COLUMNS, STORED_EVENT_FIELDS } from "../store/trailColumns";


/**
 * Reads a trail across its segments: the session list and lookups come from the active
 * segment and the catalog it carries (no sealed segment is opened for them); a session's
 * events come from the segments that hold it, opened on demand (see SegmentFiles). For an
 * unsealed trail every answer comes from the active segment, as before segments existed.
 */
export class TrailReader {
  /** The last session assembled from several segments (a session spanning a seal). */
  private merged: { key: string; db: Database } | undefined;

  constructor(private readonly store: TrailStore) {}

  private get active(): Database {
    return this.store.database;
  }

  /** Every session, newest first, as one summary each whatever segments it spans. */
  listSessions(): SessionSummary[] {
    const active = listSessions(this.active);
    const catalog = readCatalog(this.active);
    if (!catalog.length) return active;
    // Sessions whose every event was pruned are no longer listed (the retention session says what went).
    const gone = this.prunedSegments();
    const kept = gone.size ? catalog.filter((c) => !(gone.has(c.first_segment) && gone.has(c.last_segment))) : catalog;
    const byId = new Map<string, SessionSummary>(kept.map((c) => [c.session_id, summaryOf(c)]));
    for (const a of active) {
      const sealed = byId.get(a.session_id);
      byId.set(a.session_id, sealed ? mergeSummaries(sealed, a) : a);
    }
    return [...byId.values()].sort((a, b) => b.first_seq - a.first_seq);
  }

  getSession(sessionId: string): SessionSummary | undefined {
    const sealed = this.catalogEntry(sessionId);
    const active = getSession(this.active, sessionId);
    if (!sealed) return active;
    return active ? mergeSummaries(summaryOf(sealed), active) : summaryOf(sealed);
  }

  /** `latest`, a full id or a unique prefix, over every segment's sessions. */
  resolveSessionId(ref: string): string | undefined {
    if (ref === "latest") {
      // The session of the newest event, as before segments: the active segment's, else the catalog's.
      const here = queryAll<{ session_id: string }>(this.active, "SELECT session_id FROM events ORDER BY seq DESC LIMIT 1")[0]?.session_id;
      return here ?? (this.store.seals.length ? queryAll<{ session_id: string }>(this.active, "SELECT session_id FROM session_catalog ORDER BY last_seq DESC LIMIT 1")[0]?.session_id : undefined);
    }
    const ids = new Set<string>();
    for (const sql of ["SELECT DISTINCT session_id FROM events", "SELECT session_id FROM session_catalog"]) {
      for (const r of queryAll<{ session_id: string }>(this.active, `${sql} WHERE session_id >= ? AND session_id < ? LIMIT 2`, [ref, ref + "\uffff"])) ids.add(r.session_id);
    }
    if (ids.has(ref)) return ref;
    if (ids.size > 1) throw new Error(`"${ref}" matches more than one session; give more of the id`);
    return [...ids][0];
  }

  /**
   * One database holding every event of the sessions and the blobs they reference: the
   * active segment, the one sealed segment that holds them, or (a session spanning a seal,
   * sessions in different segments) a copy assembled from their segments. For queries only;
   * never written to, and not to be kept: a later call may close it.
   */
  sessionDatabase(...sessionIds: string[]): Database {
    const segments = new Set<number>();
    let inActive = false;
    for (const id of sessionIds) {
      const entry = this.catalogEntry(id);
      if (entry) for (const s of this.sealsFor(entry)) segments.add(s.segment_no);
      if (!entry || Number(this.active.exec("SELECT count(*) FROM events WHERE session_id = ?", [id])[0]?.values[0]?.[0] ?? 0) > 0) inActive = true;
    }
    if (!segments.size) return this.active;
    const seals = this.store.seals.filter((s) => segments.has(s.segment_no));
    if (seals.length === 1 && !inActive) return this.store.segment(seals[0]);
    const key = `${sessionIds.join(",")}\n${this.store.head.seq}`;
    if (this.merged?.key === key) return this.merged.db;
    this.merged?.db.close();
    this.merged = undefined;
    const db = new this.store.sqlEngine.Database();
    try {
      db.exec(SCHEMA_SQL);
      // Rows come from several segments in seq order; the in-order rule holds per segment (and
      // verify checks it there), not for this copy of some sessions' rows.
      db.exec("DROP TRIGGER events_insert_in_order; BEGIN");
      const meta = this.active.exec("SELECT key, value FROM meta WHERE key NOT IN ('base_seq', 'base_hash')")[0]?.values ?? [];
      for (const r of meta) db.run("INSERT INTO meta (key, value) VALUES (?, ?)", r);
      // Opened one at a time: the segment cache holds only two.
      const sources: (() => Database)[] = [...seals.map((s) => () => this.store.segment(s)), ...(inActive ? [() => this.active] : [])];
      const insEvent = db.prepare(`INSERT INTO events (${STORED_EVENT_FIELDS}) VALUES (${placeholders(STORED_EVENT_COLUMNS)})`);
      const insBlob = db.prepare("INSERT OR IGNORE INTO blobs (hash, kind, body) VALUES (?, ?, ?)");
      try {
        for (const open of sources) {
          const src = open();
          const marks = sessionIds.map(() => "?").join(", ");
          for (const r of src.exec(`SELECT ${STORED_EVENT_FIELDS} FROM events WHERE session_id IN (${marks}) ORDER BY seq`, sessionIds)[0]?.values ?? []) insEvent.run(r);
          for (const r of src.exec("SELECT hash, kind, body FROM blobs")[0]?.values ?? []) insBlob.run(r);
        }
      } finally {
        insEvent.free();
        insBlob.free();
      }
      db.exec("COMMIT");
    } catch (err) {
      db.close();
      throw err;
    }
    this.merged = { key, db };
    return db;
  }

  /** The session an event belongs to, looked up in the active segment, then sealed ones (newest first). */
  /**
   * The full id of the event `ref` names: the id itself or a unique prefix of at least 4
   * characters (failures and show print 8), looked up in the active segment and every sealed
   * one. Undefined when nothing matches; throws when the prefix is ambiguous.
   */
  resolveEventId(ref: string): string | undefined {
    if (ref.length < 4) throw new Error(`"${ref}" is too short to name an event; give at least 4 characters of its id`);
    const q = "SELECT event_id FROM events WHERE event_id >= ? AND event_id < ? LIMIT 2";
    const ids = new Set<string>();
    const look = (db: Database) => {
      for (const r of queryAll<{ event_id: string }>(db, q, [ref, ref + "\uffff"])) ids.add(r.event_id);
    };
    look(this.active);
    for (const seal of [...this.store.seals].reverse()) {
      if (ids.has(ref) || ids.size > 1) break;
      try {
        look(this.store.segment(seal));
      } catch {
        // pruned or unreadable: verify reports it
      }
    }
    if (ids.has(ref)) return ref;
    if (ids.size > 1) throw new Error(`"${ref}" matches more than one event; give more of the id`);
    return [...ids][0];
  }

  sessionOfEvent(eventId: string): string | undefined {
    const q = "SELECT session_id FROM events WHERE event_id = ?";
    const here = this.active.exec(q, [eventId])[0]?.values[0]?.[0];
    if (here !== undefined) return String(here);
    for (const seal of [...this.store.seals].reverse()) {
      let db: Database;
      try {
        db = this.store.segment(seal);
      } catch {
        continue; // pruned or unreadable: verify reports it
      }
      const found = db.exec(q, [eventId])[0]?.values[0]?.[0];
      if (found !== undefined) return String(found);
    }
    return undefined;
  }

  /** Failed tool calls, newest first: the active segment's, then the catalog's (read from their segments). */
  failedToolCalls(options: { limit?: number } = {}): FailedToolCall[] {
    const limit = options.limit ?? Infinity;
    const out = failedToolCalls(this.active, { limit: Number.isFinite(limit) ? limit : undefined });
    if (out.length >= limit || !this.store.seals.length) return out;
    const rows = queryAll<{ seq: number; segment_no: number }>(this.active, "SELECT seq, segment_no FROM failure_catalog ORDER BY seq DESC LIMIT ?", [Number.isFinite(limit) ? limit - out.length : -1]);
    const bySegment = new Map<number, number[]>();
    for (const r of rows) bySegment.set(r.segment_no, [...(bySegment.get(r.segment_no) ?? []), r.seq]);
    for (const seal of [...this.store.seals].reverse()) {
      const seqs = bySegment.get(seal.segment_no);
      if (!seqs) continue;
      let db: Database;
      try {
        db = this.store.segment(seal);
      } catch {
        continue; // pruned: the catalog still counts them
      }
      for (const result of eventsBySeq(db, seqs).sort((a, b) => b.seq - a.seq)) {
        out.push({ result, call: result.parent_event_id ? getEvent(db, result.parent_event_id) : undefined });
      }
    }
    return out;
  }

  /** Counts of failed tool calls by tool and error type over every segment, most frequent first. */
  failureCounts(): { tool_name: string; error_type: string; count: number; last_seq: number }[] {
    const counts = failureCounts(this.active);
    if (!this.store.seals.length) return counts;
    const key = (c: { tool_name: string; error_type: string }) => `${c.tool_name}\n${c.error_type}`;
    const byKey = new Map(counts.map((c) => [key(c), { ...c }]));
    for (const c of queryAll<{ tool_name: string; error_type: string; count: number; last_seq: number }>(
      this.active,
      "SELECT tool_name, error_type, count(*) AS count, max(seq) AS last_seq FROM failure_catalog GROUP BY tool_name, error_type",
    )) {
      const known = byKey.get(key(c));
      if (known) {
        known.count += c.count;
        known.last_seq = Math.max(known.last_seq, c.last_seq);
      } else byKey.set(key(c), c);
    }
    return [...byKey.values()].sort((a, b) => b.count - a.count || b.last_seq - a.last_seq);
  }

  /**
   * The databases holding a session's events after `afterSeq`, oldest first: its sealed
   * segments (from the catalog) that reach past `afterSeq`, then the active one.
   */
  private sourcesAfter(sessionId: string, afterSeq: number): (() => Database)[] {
    const entry = this.catalogEntry(sessionId);
    const sealed = entry ? this.sealsFor(entry).filter((s) => s.last_seq > afterSeq) : [];
    return [...sealed.map((s) => () => this.store.segment(s)), () => this.active];
  }

  /** A session's event heads after `afterSeq`, from whichever segments hold them. */
  sessionEventHeads(sessionId: string, afterSeq = 0): EventHead[] {
    return this.sourcesAfter(sessionId, afterSeq).flatMap((open) => sessionEventHeads(open(), sessionId, afterSeq));
  }

  /** The summary of a session's events after `afterSeq` only (see mergeSummaries). */
  sessionSummaryAfter(sessionId: string, afterSeq: number): SessionSummary | undefined {
    let out: SessionSummary | undefined;
    for (const open of this.sourcesAfter(sessionId, afterSeq)) {
      const part = sessionSummaryAfter(open(), sessionId, afterSeq);
      if (part) out = out ? mergeSummaries(out, part) : part;
    }
    return out;
  }

  /** Sessions with events after `afterSeq`, also in segments sealed since (a reader that fell behind a seal). */
  sessionsChangedAfter(afterSeq: number): { session_id: string; first_new_seq: number; failures: number }[] {
    const byId = new Map<string, { session_id: string; first_new_seq: number; failures: number }>();
    const sources = [...this.store.seals.filter((s) => s.last_seq > afterSeq).map((s) => () => this.store.segment(s)), () => this.active];
    for (const open of sources) {
      for (const c of sessionsChangedAfter(open(), afterSeq)) {
        const known = byId.get(c.session_id);
        if (known) known.failures += c.failures;
        else byId.set(c.session_id, { ...c });
      }
    }
    return [...byId.values()].sort((a, b) => a.first_new_seq - b.first_new_seq);
  }

  /**
   * Sessions with an event holding all these words: full-text over the active segment, and
   * the task of sessions in sealed segments (their full text would mean loading every one).
   */
  sessionsMatching(text: string): Set<string> {
    const ids = sessionsMatchingText(this.active, text);
    if (!this.store.seals.length) return ids;
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    for (const c of readCatalog(this.active)) {
      const task = (c.task ?? "").toLowerCase();
      if (words.every((w) => task.includes(w))) ids.add(c.session_id);
    }
    return ids;
  }

  /** Whole events by seq, from whichever segment holds each. */
  eventsBySeq(seqs: number[]): TrailEventRow[] {
    const base = this.store.activeBase.seq;
    const out = eventsBySeq(this.active, seqs.filter((s) => s > base));
    const sealed = seqs.filter((s) => s <= base);
    for (const seal of this.store.seals) {
      const mine = sealed.filter((s) => s >= seal.first_seq && s <= seal.last_seq);
      if (mine.length) out.push(...eventsBySeq(this.store.segment(seal), mine));
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Every segment's database in seq order (sealed ones opened one at a time), for whole-trail work. */
  *databases(): Generator<{ seal?: SealRecord; db: Database }> {
    for (const seal of this.store.seals) yield { seal, db: this.store.segment(seal) };
    yield { db: this.active };
  }

  /** Releases the segments and the assembled session held for reading. */
  release(): void {
    this.merged?.db.close();
    this.merged = undefined;
    this.store.releaseSegments();
  }

  /** Segments whose file is no longer in the segments folder (pruned or archived). */
  private prunedSegments(): Set<number> {
    return new Set(this.store.seals.filter((s) => !fs.existsSync(path.join(this.store.segmentsDir, s.file_name))).map((s) => s.segment_no));
  }

  private catalogEntry(sessionId: string): CatalogEntry | undefined {
    if (!this.store.seals.length) return undefined;
    return queryAll<CatalogEntry>(this.active, "SELECT * FROM session_catalog WHERE session_id = ?", [sessionId])[0];
  }

  private sealsFor(entry: CatalogEntry): SealRecord[] {
    return this.store.seals.filter((s) => s.segment_no >= entry.first_segment && s.segment_no <= entry.last_segment);
  }
}

function summaryOf(c: CatalogEntry): SessionSummary {
  const { first_segment: _f, last_segment: _l, ...summary } = c;
  return summary;
}
