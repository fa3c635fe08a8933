import type { Database, SqlValue } from "sql.js";
import type { StoredEvent } from "../store/eventTypes";
import { SESSION_SUMMARY_COLUMNS } from "../store/schema";
import { STORED_EVENT_FIELDS } from "../store/trailColumns";

/** An event row as queries return it: the stored fields plus the derived filter columns. */
export interface TrailEventRow extends StoredEvent {
  tool_name: string | null;
  outcome: string | null;
  error_type: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  latency_ms: number | null;
  execution_time_ms: number | null;
  requires_approval: number | null;
  approval_status: string | null;
  approver_id: string | null;
}

export type SessionStatus = "running" | "completed" | "timeout" | "cancelled" | "error" | "diverged";

export interface SessionSummary {
  session_id: string;
  first_seq: number;
  last_seq: number;
  started_at: string;
  ended_at: string | null;
  status: SessionStatus;
  task: string | null;
  /** The session this one replays, if it is a replay. */
  replay_of: string | null;
  agent_id: string;
  model_id: string | null;
  steps: number;
  input_tokens: number;
  output_tokens: number;
  tool_calls: number;
  failed_tool_calls: number;
  events: number;
}

const EVENT_COLUMNS = `${STORED_EVENT_FIELDS}, tool_name, outcome,
  error_type, input_tokens, output_tokens, latency_ms, execution_time_ms, requires_approval, approval_status, approver_id`;

/** Runs a query and returns its rows as plain objects. */
export function queryAll<T>(db: Database, sql: string, params: SqlValue[] = []): T[] {
  const stmt = db.prepare(sql);
  try {
    stmt.bind(params);
    const rows: T[] = [];
    while (stmt.step()) rows.push(stmt.getAsObject() as T);
    return rows;
  } finally {
    stmt.free();
  }
}

/**
 * Rows as objects, decoded from one JSON array built by SQLite: sql.js crosses into WebAssembly
 * once per value when reading rows one by one, which costs more than the query itself for the
 * thousands of rows of a session list.
 */
export function jsonRows<T>(db: Database, columns: string, from: string, params: SqlValue[] = []): T[] {
  const names = columns.split(",").map((c) => c.trim());
  const text = db.exec(`SELECT json_group_array(json_array(${names.join(", ")})) FROM ${from}`, params)[0]?.values[0]?.[0];
  return (JSON.parse(String(text ?? "[]")) as unknown[][]).map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])) as T);
}

const SUMMARY_FIELDS = "session_id, first_seq, last_seq, started_at, ended_at, status, replay_of, task, agent_id, model_id, steps, input_tokens, output_tokens, tool_calls, failed_tool_calls, events";

/** Sessions, newest first, with their summary (status, steps, tokens, failures). */
export function listSessions(db: Database, options: { limit?: number; offset?: number } = {}): SessionSummary[] {
  return jsonRows<SessionSummary>(db, SUMMARY_FIELDS, "(SELECT * FROM sessions ORDER BY first_seq DESC LIMIT ? OFFSET ?)", [options.limit ?? -1, options.offset ?? 0])
    .sort((a, b) => b.first_seq - a.first_seq);
}

/** One session's summary, or undefined. */
export function getSession(db: Database, sessionId: string): SessionSummary | undefined {
  return queryAll<SessionSummary>(
    db,
    // Filtering the base table first keeps this an index lookup, not a scan of every session.
    `SELECT * FROM sessions WHERE session_id = ?`,
    [sessionId],
  )[0];
}

/** The sessions view's aggregates over a session's events after `afterSeq` only (see mergeSummaries). */
export function sessionSummaryAfter(db: Database, sessionId: string, afterSeq: number): SessionSummary | undefined {
  return queryAll<SessionSummary>(db, `SELECT ${SESSION_SUMMARY_COLUMNS} FROM events WHERE session_id = ? AND seq > ? GROUP BY session_id`, [sessionId, afterSeq])[0];
}

/**
 * A summary of all of a session's events from one of its earlier events and one of the rest:
 * what the sessions view would say, without reading the earlier events again. Each column
 * merges as its aggregate does (min, max, sum, count); status is the view's max over the
 * terminal events, "running" when there is none.
 */
export function mergeSummaries(before: SessionSummary, after: SessionSummary): SessionSummary {
  const max = <T extends string | number>(a: T | null, b: T | null): T | null => (a === null ? b : b === null ? a : a > b ? a : b);
  const min = <T extends string | number>(a: T | null, b: T | null): T | null => (a === null ? b : b === null ? a : a < b ? a : b);
  const status = before.status === "running" ? after.status : after.status === "running" ? before.status : max(before.status, after.status)!;
  return {
    session_id: before.session_id,
    first_seq: min(before.first_seq, after.first_seq)!,
    last_seq: max(before.last_seq, after.last_seq)!,
    started_at: min(before.started_at, after.started_at)!,
    ended_at: max(before.ended_at, after.ended_at),
    status,
    replay_of: max(before.replay_of, after.replay_of),
    task: max(before.task, after.task),
    agent_id: max(before.agent_id, after.agent_id)!,
    model_id: max(before.model_id, after.model_id),
    steps: max(before.steps, after.steps)!,
    input_tokens: before.input_tokens + after.input_tokens,
    output_tokens: before.output_tokens + after.output_tokens,
    tool_calls: before.tool_calls + after.tool_calls,
    failed_tool_calls: before.failed_tool_calls + after.failed_tool_calls,
    events: before.events + after.events,
  };
}

/**
 * Resolves what a user typed to a session id: `latest`, a full id, or a unique prefix of one.
 * Returns undefined when nothing matches; throws when a prefix is ambiguous.
 */
export function resolveSessionId(db: Database, ref: string): string | undefined {
  if (ref === "latest") {
    return queryAll<{ session_id: string }>(db, `SELECT session_id FROM events ORDER BY seq DESC LIMIT 1`)[0]?.session_id;
  }
  const rows = queryAll<{ session_id: string }>(
    db,
    `SELECT DISTINCT session_id FROM events WHERE session_id >= ? AND session_id < ? LIMIT 2`,
    [ref, ref + "\uffff"],
  );
  if (rows.length > 1 && !rows.some((r) => r.session_id === ref)) {
    throw new Error(`"${ref}" matches more than one session; give more of the id`);
  }
  return rows.find((r) => r.session_id === ref)?.session_id ?? rows[0]?.session_id;
}

/** The events of one session in seq order, optionally a page of them. */
export function sessionEvents(
  db: Database,
  sessionId: string,
  options: { afterSeq?: number; limit?: number; eventTypes?: string[] } = {},
): TrailEventRow[] {
  const types = options.eventTypes ?? [];
  const typeFilter = types.length ? `AND event_type IN (${types.map(() => "?").join(",")})` : "";
  return queryAll<TrailEventRow>(
    db,
    `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND seq > ? ${typeFilter} ORDER BY seq LIMIT ?`,
    [sessionId, options.afterSeq ?? 0, ...types, options.limit ?? -1],
  );
}

/**
 * What the views need of an event to lay out a session (steps, tool calls, outcomes, timings,
 * tokens), without its content: reading and parsing content is most of a big session's cost,
 * so it is read per event, only for what is on screen.
 */
export type EventHead = Omit<TrailEventRow, "content" | "prev_hash" | "hash" | "agent_id" | "user_id" | "system_prompt_hash" | "agent_version"> & {
  /** From content.usage (model calls), for pricing; not columns of the table. */
  cache_read_input_tokens: number | null;
  cache_creation_input_tokens: number | null;
};

/**
 * The derived fields of a head, read with one json_extract (one JSON parse per row) and rows as
 * arrays: 4× faster than the generated columns (each its own json_extract) read as objects. The
 * values are what the generated columns of schema.ts give: the same paths, JSON true/false as
 * 1/0, objects and arrays as JSON text (and two usage fields that are not columns, for pricing).
 */
const HEAD_PATHS: [keyof EventHead, string][] = [
  ["tool_name", "$.tool_name"],
  ["outcome", "$.outcome"],
  ["error_type", "$.error.type"],
  ["input_tokens", "$.usage.input_tokens"],
  ["output_tokens", "$.usage.output_tokens"],
  ["latency_ms", "$.latency_ms"],
  ["execution_time_ms", "$.execution_time_ms"],
  ["requires_approval", "$.requires_approval"],
  ["approval_status", "$.approval_status"],
  ["approver_id", "$.approver_id"],
  ["cache_read_input_tokens", "$.usage.cache_read_input_tokens"],
  ["cache_creation_input_tokens", "$.usage.cache_creation_input_tokens"],
];
const HEAD_SQL = `SELECT seq, event_id, session_id, timestamp, event_type, step_number, parent_event_id, model_id,
  json_extract(content, ${HEAD_PATHS.map(([, p]) => `'${p}'`).join(", ")}) FROM events WHERE session_id = ? AND seq > ? ORDER BY seq`;

/** One session's event heads in seq order, after `afterSeq`. */
export function sessionEventHeads(db: Database, sessionId: string, afterSeq = 0): EventHead[] {
  const stmt = db.prepare(HEAD_SQL);
  try {
    stmt.bind([sessionId, afterSeq]);
    const out: EventHead[] = [];
    while (stmt.step()) {
      const r = stmt.get();
      const head: Record<string, unknown> = {
        seq: r[0], event_id: r[1], session_id: r[2], timestamp: r[3], event_type: r[4], step_number: r[5], parent_event_id: r[6], model_id: r[7],
      };
      const values = JSON.parse(String(r[8])) as unknown[];
      HEAD_PATHS.forEach(([field], i) => {
        const v = values[i];
        head[field] = v === true ? 1 : v === false ? 0 : v !== null && typeof v === "object" ? JSON.stringify(v) : v ?? null;
      });
      out.push(head as unknown as EventHead);
    }
    return out;
  } finally {
    stmt.free();
  }
}

/** Events by seq (an IN list of primary keys), in seq order. */
export function eventsBySeq(db: Database, seqs: number[]): TrailEventRow[] {
  if (!seqs.length) return [];
  return queryAll<TrailEventRow>(db, `SELECT ${EVENT_COLUMNS} FROM events WHERE seq IN (${seqs.map(() => "?").join(",")}) ORDER BY seq`, seqs);
}

/** The sessions that have events after `afterSeq` (a primary-key range: cheap at any size). */
export function sessionsChangedAfter(db: Database, afterSeq: number): { session_id: string; first_new_seq: number; failures: number }[] {
  return queryAll(
    db,
    `SELECT session_id, min(seq) AS first_new_seq, sum(outcome = 'error') AS failures FROM events WHERE seq > ? GROUP BY session_id ORDER BY min(seq)`,
    [afterSeq],
  );
}

export function getEvent(db: Database, eventId: string): TrailEventRow | undefined {
  return queryAll<TrailEventRow>(db, `SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ?`, [eventId])[0];
}

/** The session's last event of a type before `beforeSeq` (the model call before another). */
export function previousOfType(db: Database, sessionId: string, eventType: string, beforeSeq: number): TrailEventRow | undefined {
  return queryAll<TrailEventRow>(
    db,
    `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND seq < ? AND event_type = ? ORDER BY seq DESC LIMIT 1`,
    [sessionId, beforeSeq, eventType],
  )[0];
}

export function getEventBySeq(db: Database, seq: number): TrailEventRow | undefined {
  return queryAll<TrailEventRow>(db, `SELECT ${EVENT_COLUMNS} FROM events WHERE seq = ?`, [seq])[0];
}

/** An event with what it links to: the event that triggered it and the events it triggered. */
export function getEventWithLinks(
  db: Database,
  eventId: string,
): { event: TrailEventRow; parent?: TrailEventRow; children: TrailEventRow[] } | undefined {
  const event = getEvent(db, eventId);
  if (!event) return undefined;
  const parent = event.parent_event_id ? getEvent(db, event.parent_event_id) : undefined;
  const children = queryAll<TrailEventRow>(
    db,
    `SELECT ${EVENT_COLUMNS} FROM events WHERE parent_event_id = ? ORDER BY seq`,
    [eventId],
  );
  return { event, parent, children };
}

export interface FailedToolCall {
  /** The tool_result (or tool_retry) event that recorded the failure. */
  result: TrailEventRow;
  /** The tool_call it answers, with the input. */
  call: TrailEventRow | undefined;
}

/** Failed tool calls across sessions, newest first. */
export function failedToolCalls(
  db: Database,
  options: { limit?: number; toolName?: string; errorType?: string } = {},
): FailedToolCall[] {
  const where: string[] = ["r.outcome = 'error'", "r.event_type IN ('tool_result', 'tool_retry')"];
  const params: SqlValue[] = [];
  if (options.toolName) {
    where.push("r.tool_name = ?");
    params.push(options.toolName);
  }
  if (options.errorType) {
    where.push("r.error_type = ?");
    params.push(options.errorType);
  }
  const results = queryAll<TrailEventRow>(
    db,
    `SELECT ${EVENT_COLUMNS.replace(/(\w+)/g, "r.$1")} FROM events r WHERE ${where.join(" AND ")} ORDER BY r.seq DESC LIMIT ?`,
    [...params, options.limit ?? -1],
  );
  return results.map((result) => ({
    result,
    call: result.parent_event_id ? getEvent(db, result.parent_event_id) : undefined,
  }));
}

/** Counts of failed tool calls by tool and error type, most frequent first. */
export function failureCounts(db: Database): { tool_name: string; error_type: string; count: number; last_seq: number }[] {
  return queryAll(
    db,
    `SELECT tool_name, error_type, count(*) AS count, max(seq) AS last_seq FROM events
     WHERE outcome = 'error' AND event_type IN ('tool_result', 'tool_retry')
     GROUP BY tool_name, error_type ORDER BY count DESC, last_seq DESC`,
  );
}

/**
 * Full-text search over event content, newest first. The index is brought up to date
 * first (it is filled lazily, see schema.ts); that touches only the in-memory copy.
 */
export function searchEvents(db: Database, text: string, options: { limit?: number } = {}): TrailEventRow[] {
  const query = ftsQuery(db, text);
  if (!query) return [];
  return queryAll<TrailEventRow>(
    db,
    `SELECT ${EVENT_COLUMNS.replace(/(\w+)/g, "e.$1")} FROM events_fts f JOIN events e ON e.seq = f.docid
     WHERE events_fts MATCH ? ORDER BY e.seq DESC LIMIT ?`,
    [query, options.limit ?? 100],
  );
}

/** The sessions with an event whose content holds all the words (the same index as searchEvents). */
export function sessionsMatchingText(db: Database, text: string): Set<string> {
  const query = ftsQuery(db, text);
  if (!query) return new Set();
  const rows = queryAll<{ session_id: string }>(
    db,
    `SELECT DISTINCT e.session_id FROM events_fts f JOIN events e ON e.seq = f.docid WHERE events_fts MATCH ?`,
    [query],
  );
  return new Set(rows.map((r) => r.session_id));
}

/**
 * Brings the full-text index up to date (it is filled lazily, see schema.ts; that touches only
 * the in-memory copy) and turns what a user typed into a query: each word quoted, so user
 * input is never FTS query syntax. Undefined when there are no words.
 */
function ftsQuery(db: Database, text: string): string | undefined {
  const from = Number(db.exec("SELECT indexed_to FROM search_progress")[0]?.values[0]?.[0] ?? 0);
  const head = Number(db.exec("SELECT coalesce(max(seq), 0) FROM events")[0]?.values[0]?.[0] ?? 0);
  if (head > from) {
    db.run("INSERT INTO events_fts(docid, content) SELECT seq, content FROM events WHERE seq > ?", [from]);
    db.run("UPDATE search_progress SET indexed_to = ?", [head]);
  }
  const query = text
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => `"${w.replace(/"/g, '""')}"`)
    .join(" ");
  return query || undefined;
}

/**
 * Where a text occurs in one session's events (any field: task, reasoning, text, tool inputs
 * and outputs, errors), case-insensitively for ASCII, with a count per event. It searches the
 * stored JSON, so text that JSON escapes (quotes, line breaks) is found in its escaped form.
 */
export function searchSession(db: Database, sessionId: string, text: string): { seq: number; count: number }[] {
  if (!text) return [];
  return queryAll<{ seq: number; count: number }>(
    db,
    `SELECT seq, (length(c) - length(replace(c, t, ''))) / length(t) AS count
     FROM (SELECT seq, lower(content) AS c, lower(?) AS t FROM events WHERE session_id = ?)
     WHERE instr(c, t) > 0 ORDER BY seq`,
    [text, sessionId],
  );
}

/** A blob's body by its hash (system prompt, message, tool list). */
export function getBlob(db: Database, hash: string): string | undefined {
  const v = db.exec("SELECT body FROM blobs WHERE hash = ?", [hash])[0]?.values[0]?.[0];
  return v === undefined ? undefined : String(v);
}

/** The same tool failing the same way in other sessions: how often, and the newest few. */
export function similarFailures(
  db: Database,
  toolName: string,
  errorType: string,
  excludeSessionId: string,
  limit = 5,
): { count: number; items: { session_id: string; step_number: number; timestamp: string; task: string | null }[] } {
  const where = `outcome = 'error' AND event_type = 'tool_result' AND tool_name = ? AND error_type = ? AND session_id != ?`;
  const count = Number(db.exec(`SELECT count(*) FROM events WHERE ${where}`, [toolName, errorType, excludeSessionId])[0]?.values[0]?.[0] ?? 0);
  const items = queryAll<{ session_id: string; step_number: number; timestamp: string; task: string | null }>(
    db,
    `SELECT e.session_id, e.step_number, e.timestamp,
       (SELECT json_extract(s.content, '$.task') FROM events s WHERE s.session_id = e.session_id AND s.event_type = 'session_start') AS task
     FROM events e WHERE ${where.replace(/\b(outcome|event_type|tool_name|error_type|session_id)\b/g, "e.$1")} ORDER BY e.seq DESC LIMIT ?`,
    [toolName, errorType, excludeSessionId, limit],
  );
  return { count, items };
}
