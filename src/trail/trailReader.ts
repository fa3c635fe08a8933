import type { Database } from "sql.js";
import type { SealRecord } from "./segments";
import { readCatalog } from "./segments";
import type { CatalogEntry } from "./segments";
import { SCHEMA_SQL } from "./schema";
import type { SessionSummary, TrailEventRow } from "./trailQueries";
import { eventsBySeq, getSession, listSessions, mergeSummaries, queryAll } from "./trailQueries";
import type { TrailStore } from "./trailStore";

const STORED_COLUMNS = `seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number,
  parent_event_id, model_id, system_prompt_hash, agent_version, content, prev_hash, hash`;

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
    const byId = new Map<string, SessionSummary>(catalog.map((c) => [c.session_id, summaryOf(c)]));
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
    if (ref === "latest") return this.listSessions()[0]?.session_id;
    const ids = new Set<string>();
    for (const sql of ["SELECT DISTINCT session_id FROM events", "SELECT session_id FROM session_catalog"]) {
      for (const r of queryAll<{ session_id: string }>(this.active, `${sql} WHERE session_id >= ? AND session_id < ? LIMIT 2`, [ref, ref + "\uffff"])) ids.add(r.session_id);
    }
    if (ids.has(ref)) return ref;
    if (ids.size > 1) throw new Error(`"${ref}" matches more than one session; give more of the id`);
    return [...ids][0];
  }

  /**
   * One database holding every event of the session and the blobs they reference: the
   * active segment, the one sealed segment that holds it, or (a session spanning a seal) a
   * copy assembled from its segments. For queries only; never written to.
   */
  sessionDatabase(sessionId: string): Database {
    const entry = this.catalogEntry(sessionId);
    if (!entry) return this.active;
    const seals = this.sealsFor(entry);
    const inActive = Number(this.active.exec("SELECT count(*) FROM events WHERE session_id = ?", [sessionId])[0]?.values[0]?.[0] ?? 0) > 0;
    if (seals.length === 1 && !inActive) return this.store.segment(seals[0]);
    const key = `${sessionId}\n${this.store.head.seq}`;
    if (this.merged?.key === key) return this.merged.db;
    this.merged?.db.close();
    this.merged = undefined;
    const db = new this.store.sqlEngine.Database();
    db.exec(SCHEMA_SQL);
    // Rows come from several segments in seq order; the in-order rule holds per segment (and
    // verify checks it there), not for this copy of one session's rows.
    db.exec("DROP TRIGGER events_insert_in_order; BEGIN");
    // Opened one at a time: the segment cache holds only two.
    const sources: (() => Database)[] = [...seals.map((s) => () => this.store.segment(s)), ...(inActive ? [() => this.active] : [])];
    const meta = this.active.exec("SELECT key, value FROM meta WHERE key NOT IN ('base_seq', 'base_hash')")[0]?.values ?? [];
    for (const r of meta) db.run("INSERT INTO meta (key, value) VALUES (?, ?)", r);
    const insEvent = db.prepare(`INSERT INTO events (${STORED_COLUMNS}) VALUES (${STORED_COLUMNS.split(",").map(() => "?").join(", ")})`);
    const insBlob = db.prepare("INSERT OR IGNORE INTO blobs (hash, kind, body) VALUES (?, ?, ?)");
    try {
      for (const open of sources) {
        const src = open();
        for (const r of src.exec(`SELECT ${STORED_COLUMNS} FROM events WHERE session_id = ? ORDER BY seq`, [sessionId])[0]?.values ?? []) insEvent.run(r);
        for (const r of src.exec("SELECT hash, kind, body FROM blobs")[0]?.values ?? []) insBlob.run(r);
      }
    } finally {
      insEvent.free();
      insBlob.free();
    }
    db.exec("COMMIT");
    this.merged = { key, db };
    return db;
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
