import type { EventHead, SessionSummary, TrailEventRow } from "../trail/reading/trailQueries";
import { mergeSummaries } from "../trail/reading/trailQueries";
import { TrailReader } from "../trail/reading/trailReader";
import type { TrailStore } from "../trail/store/trailStore";

/** Where the views read from: one workspace folder's trail. */
export interface TrailSource {
  /** Stable key (the folder's URI). */
  readonly key: string;
  readonly label: string;
  /** Sessions, newest first. */
  sessions(): SessionSummary[];
  session(sessionId: string): SessionSummary | undefined;
  /** A session's event heads (no content) after `afterSeq`, in seq order. */
  heads(sessionId: string, afterSeq?: number): EventHead[];
  /** Whole events (with content) by seq. */
  events(seqs: number[]): TrailEventRow[];
  /** Sessions with an event holding all these words (the trail's full-text index). */
  sessionsMatching(text: string): Set<string>;
}

/**
 * What one update of a trail changed: the new seq range and the sessions it touched. `full`
 * when the trail was replaced or went backwards (everything must be re-read).
 */
export interface TrailChange {
  folder: string;
  full: boolean;
  fromSeq: number;
  toSeq: number;
  /** Sessions with events in the range: new ones (not listed before) and updated ones. */
  added: string[];
  updated: string[];
  /** Whether any new event is a failure (the Failed Tool Calls view re-reads only then). */
  failures: boolean;
}

/** Whole events kept for what is on screen; older ones are read again when needed. */
const ROW_CACHE_LIMIT = 2000;

/**
 * A TrailSource over an open store. The session list is cached and updated in place from
 * each TrailChange (only the sessions that changed are re-read); whole events are cached in a
 * bounded map, so memory does not grow with what was ever looked at.
 */
export class StoreTrailSource implements TrailSource {
  private list: SessionSummary[] | undefined;
  private byId = new Map<string, SessionSummary>();
  private readonly rows = new Map<number, TrailEventRow>();
  /** The last full-text search (a filter is asked for each group it shows). */
  private lastSearch: { key: string; ids: Set<string> } | undefined;
  /** The head seq the cached list reflects. */
  private seenSeq = 0;

  constructor(
    readonly key: string,
    readonly label: string,
    private readonly store: () => TrailStore | undefined,
  ) {}

  /** The open trail's active segment, for queries beyond the tree's (undefined before it is opened). */
  get database() {
    return this.store()?.database;
  }

  private readerOf: { store: TrailStore; reader: TrailReader } | undefined;

  /** Reads across the trail's segments (the catalog for the list, sealed segments on demand). */
  get reader(): TrailReader | undefined {
    const store = this.store();
    if (!store) return undefined;
    if (this.readerOf?.store !== store) {
      this.readerOf?.reader.release();
      this.readerOf = { store, reader: new TrailReader(store) };
    }
    return this.readerOf.reader;
  }

  /** A database holding the session's events and blobs (see TrailReader.sessionDatabase); use it at once. */
  sessionDatabase(sessionId: string) {
    return this.reader?.sessionDatabase(sessionId);
  }

  /** Forgets everything cached (Refresh, a replaced trail). */
  invalidate(): void {
    this.list = undefined;
    this.byId.clear();
    this.rows.clear();
    this.lastSearch = undefined;
    this.readerOf?.reader.release();
  }

  /** Starts following the store from its current head (just opened, or reloaded whole). */
  baseline(): void {
    this.invalidate();
    this.seenSeq = this.store()?.head.seq ?? 0;
  }

  /** Lets go of whole events (a panel that showed them closed). */
  releaseRows(): void {
    this.rows.clear();
  }

  /**
   * Brings the cached list up to the store's head and says what changed. Only sessions with
   * new events are re-read; a trail that went backwards (restored, replaced) is re-read whole.
   */
  update(): TrailChange | undefined {
    const store = this.store();
    if (!store) return undefined;
    const head = store.head.seq;
    const from = this.seenSeq;
    if (head === from) return undefined;
    this.seenSeq = head;
    if (head < from) {
      this.invalidate();
      return { folder: this.key, full: true, fromSeq: 1, toSeq: head, added: [], updated: [], failures: true };
    }
    const reader = this.reader!;
    const changed = reader.sessionsChangedAfter(from);
    const change: TrailChange = { folder: this.key, full: false, fromSeq: from + 1, toSeq: head, added: [], updated: [], failures: changed.some((c) => c.failures > 0) };
    if (!this.list) {
      // Nothing listed yet: whoever lists next reads the list fresh.
      change.updated = changed.map((c) => c.session_id);
      return change;
    }
    const fresh: SessionSummary[] = [];
    for (const c of changed) {
      const known = this.byId.get(c.session_id);
      // A known session is brought up to date from its new events only (a session of thousands
      // of events is not re-aggregated for each one).
      const delta = known && reader.sessionSummaryAfter(c.session_id, known.last_seq);
      const summary = known ? (delta ? mergeSummaries(known, delta) : known) : reader.getSession(c.session_id);
      if (!summary) continue;
      this.byId.set(c.session_id, summary);
      if (known) {
        this.list[this.list.indexOf(known)] = summary;
        change.updated.push(c.session_id);
      } else {
        fresh.push(summary);
        change.added.push(c.session_id);
      }
    }
    // New sessions started after every listed one: they go first, newest first.
    if (fresh.length) this.list.unshift(...fresh.sort((a, b) => b.first_seq - a.first_seq));
    return change;
  }

  sessions(): SessionSummary[] {
    const store = this.store();
    if (!store) return [];
    if (!this.list) {
      this.list = this.reader!.listSessions();
      this.byId = new Map(this.list.map((s) => [s.session_id, s]));
    }
    return this.list;
  }

  session(sessionId: string): SessionSummary | undefined {
    const store = this.store();
    if (!store) return undefined;
    if (this.list) return this.byId.get(sessionId);
    return this.reader!.getSession(sessionId);
  }

  sessionsMatching(text: string): Set<string> {
    const store = this.store();
    if (!store) return new Set();
    const key = `${store.head.seq}\n${text}`;
    if (this.lastSearch?.key !== key) this.lastSearch = { key, ids: this.reader!.sessionsMatching(text) };
    return this.lastSearch.ids;
  }

  heads(sessionId: string, afterSeq = 0): EventHead[] {
    const store = this.store();
    return store ? this.reader!.sessionEventHeads(sessionId, afterSeq) : [];
  }

  events(seqs: number[]): TrailEventRow[] {
    const store = this.store();
    if (!store) return [];
    const missing = seqs.filter((s) => !this.rows.has(s));
    for (const row of this.reader!.eventsBySeq(missing)) this.rows.set(row.seq, row);
    const out: TrailEventRow[] = [];
    for (const s of seqs) {
      const row = this.rows.get(s);
      if (!row) continue;
      // Most recently used last, so the oldest are dropped first.
      this.rows.delete(s);
      this.rows.set(s, row);
      out.push(row);
    }
    for (const oldest of this.rows.keys()) {
      if (this.rows.size <= ROW_CACHE_LIMIT) break;
      this.rows.delete(oldest);
    }
    return out;
  }
}
