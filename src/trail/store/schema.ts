import { GENESIS_HASH } from "../integrity/hashChain";

/**
 * Bumped when the layout changes. PRAGMA user_version holds the file's current version;
 * `meta.schema_version` the version the trail was created with (meta is append-only).
 * 2: keys and checkpoints (signed checkpoints).
 * 3: tree_heads (each checkpoint's Merkle tree head as a C2SP signed note).
 * 4: segments: seals, the session and failure catalogs, and an in-order trigger that lets a
 *    segment start after seq 1 (meta base_seq/base_hash); see segments.ts.
 */
export const SCHEMA_VERSION = 4;

/** Marks the file as ours (PRAGMA application_id), so tools can tell it from other SQLite files. */
export const APPLICATION_ID = 0x41415431; // "AAT1"

const APPEND_ONLY = (table: string) => `
CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
BEGIN SELECT RAISE(ABORT, 'agent-audit: ${table} is append-only; UPDATE is not allowed'); END;
CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
BEGIN SELECT RAISE(ABORT, 'agent-audit: ${table} is append-only; DELETE is not allowed'); END;`;

/**
 * The whole schema. Written so that someone with only the `sqlite3` CLI understands it:
 * readable names, content as JSON for json_extract, filter fields as generated columns
 * (derived from the hashed content, so they cannot drift from it), and views for the
 * questions people ask first.
 */
/**
 * The sessions view's columns: aggregates over a session's events. Every one is a min, max,
 * sum or count, so a summary can be brought up to date from the new events alone
 * (trailQueries.sessionSummaryAfter and mergeSummaries) instead of re-reading the session.
 */
export const SESSION_SUMMARY_COLUMNS = `  session_id,
  min(seq) AS first_seq,
  max(seq) AS last_seq,
  min(timestamp) AS started_at,
  max(CASE WHEN event_type IN ('session_end', 'session_timeout', 'session_cancelled', 'session_error', 'replay_diverged')
      THEN timestamp END) AS ended_at,
  coalesce(max(CASE event_type
      WHEN 'session_end' THEN 'completed' WHEN 'session_timeout' THEN 'timeout'
      WHEN 'session_cancelled' THEN 'cancelled' WHEN 'session_error' THEN 'error'
      WHEN 'replay_diverged' THEN 'diverged' END), 'running') AS status,
  max(CASE WHEN event_type = 'session_start' THEN json_extract(content, '$.replay_of') END) AS replay_of,
  max(CASE WHEN event_type = 'session_start' THEN json_extract(content, '$.task') END) AS task,
  max(agent_id) AS agent_id,
  max(model_id) AS model_id,
  max(step_number) AS steps,
  coalesce(sum(CASE WHEN event_type = 'llm_call' THEN input_tokens END), 0) AS input_tokens,
  coalesce(sum(CASE WHEN event_type = 'llm_call' THEN output_tokens END), 0) AS output_tokens,
  count(CASE WHEN event_type = 'tool_call' THEN 1 END) AS tool_calls,
  count(CASE WHEN event_type = 'tool_result' AND outcome = 'error' THEN 1 END) AS failed_tool_calls,
  count(*) AS events
`;

/** Schema 3's trigger: the first event is seq 1. Recognised (exactly) to upgrade it. */
const V3_IN_ORDER_TRIGGER = `CREATE TRIGGER events_insert_in_order BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events)
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM events WHERE seq = NEW.seq - 1), '${GENESIS_HASH}')
BEGIN SELECT RAISE(ABORT, 'agent-audit: events are append-only; seq must be the next number and prev_hash the current head hash'); END`;

/**
 * Each event is the next seq and links to the current head. A segment after the first
 * starts where its predecessor ended: meta base_seq and base_hash (segments.ts).
 */
const IN_ORDER_TRIGGER = `CREATE TRIGGER events_insert_in_order BEFORE INSERT ON events
WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM events), (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'base_seq'), 0) + 1
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM events WHERE seq = NEW.seq - 1), (SELECT value FROM meta WHERE key = 'base_hash'), '${GENESIS_HASH}')
BEGIN SELECT RAISE(ABORT, 'agent-audit: events are append-only; seq must be the next number and prev_hash the current head hash'); END;`;

export const SCHEMA_SQL = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- One row per event, in the order they happened. seq is gapless from 1; hash chains each
-- row to the one before it (docs/trail-format.md says how to recompute it).
CREATE TABLE events (
  seq                INTEGER PRIMARY KEY,
  event_id           TEXT NOT NULL UNIQUE,
  session_id         TEXT NOT NULL,
  agent_id           TEXT NOT NULL,
  user_id            TEXT NOT NULL,
  timestamp          TEXT NOT NULL,          -- UTC, ISO-8601 with milliseconds
  event_type         TEXT NOT NULL,
  step_number        INTEGER NOT NULL,
  parent_event_id    TEXT,                   -- the event that triggered this one
  model_id           TEXT,
  system_prompt_hash TEXT,                   -- blobs.hash of the system prompt (see system_prompts)
  agent_version      TEXT,
  content            TEXT NOT NULL,          -- canonical JSON
  prev_hash          TEXT NOT NULL,
  hash               TEXT NOT NULL,
  tool_name          TEXT    GENERATED ALWAYS AS (json_extract(content, '$.tool_name')) VIRTUAL,
  outcome            TEXT    GENERATED ALWAYS AS (json_extract(content, '$.outcome')) VIRTUAL,
  error_type         TEXT    GENERATED ALWAYS AS (json_extract(content, '$.error.type')) VIRTUAL,
  input_tokens       INTEGER GENERATED ALWAYS AS (json_extract(content, '$.usage.input_tokens')) VIRTUAL,
  output_tokens      INTEGER GENERATED ALWAYS AS (json_extract(content, '$.usage.output_tokens')) VIRTUAL,
  latency_ms         INTEGER GENERATED ALWAYS AS (json_extract(content, '$.latency_ms')) VIRTUAL,
  execution_time_ms  INTEGER GENERATED ALWAYS AS (json_extract(content, '$.execution_time_ms')) VIRTUAL,
  requires_approval  INTEGER GENERATED ALWAYS AS (json_extract(content, '$.requires_approval')) VIRTUAL,
  approval_status    TEXT    GENERATED ALWAYS AS (json_extract(content, '$.approval_status')) VIRTUAL,
  approver_id        TEXT    GENERATED ALWAYS AS (json_extract(content, '$.approver_id')) VIRTUAL
);
CREATE INDEX events_by_session ON events(session_id, seq);
CREATE INDEX events_by_parent ON events(parent_event_id) WHERE parent_event_id IS NOT NULL;
CREATE INDEX events_by_tool ON events(tool_name, error_type) WHERE tool_name IS NOT NULL;
CREATE INDEX events_failed ON events(error_type, seq) WHERE outcome = 'error';

-- Content stored once and referenced by hash: system prompts, conversation messages,
-- conversation links, tool lists. hash = SHA-256 of body. An llm_call names the conversation
-- it sent by one hash that chains the messages (src/trail/reading/conversation.ts), so the trail grows
-- with the conversation, not with its square.
CREATE TABLE blobs (
  hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  body TEXT NOT NULL
);

${IN_ORDER_TRIGGER}
${APPEND_ONLY("events")}
${APPEND_ONLY("blobs")}
${APPEND_ONLY("meta")}
${checkpointSchema()}
${treeHeadSchema()}
${segmentSchema()}
-- Full-text search over event content (sql.js has FTS4, not FTS5), docid = seq. Filled
-- lazily, when someone searches, up to search_progress.indexed_to: indexing on every append
-- would double its cost. It keeps its own copy of the text so that it is always consistent
-- on its own (PRAGMA quick_check checks it). Derived data, not audit content.
CREATE VIRTUAL TABLE events_fts USING fts4(content);
CREATE TABLE search_progress (indexed_to INTEGER NOT NULL);
INSERT INTO search_progress VALUES (0);

CREATE VIEW system_prompts AS
  SELECT hash, body AS text FROM blobs WHERE kind = 'system_prompt';
CREATE VIEW messages AS
  SELECT hash, json_extract(body, '$.role') AS role, body AS message FROM blobs WHERE kind = 'message';

-- One row per session: what the sidebar and "agent-audit sessions" show.
CREATE VIEW sessions AS
SELECT
${SESSION_SUMMARY_COLUMNS}FROM events
GROUP BY session_id;

PRAGMA user_version = ${SCHEMA_VERSION};
PRAGMA application_id = ${APPLICATION_ID};
`;

/** Version 2: public keys and signed checkpoints (see signing.ts). Also the v1 → v2 upgrade. */
function checkpointSchema(): string {
  return `
-- Public keys that signed checkpoints, by SHA-256 fingerprint of the key. Rotation adds a row.
CREATE TABLE keys (
  fingerprint TEXT PRIMARY KEY,
  algorithm   TEXT NOT NULL,
  public_key  TEXT NOT NULL,             -- PEM (SubjectPublicKeyInfo)
  added_at    TEXT NOT NULL
);
-- Signed statements "the trail had these events, ending in this hash": every 100 events and
-- at every session end. signature = Ed25519 over canonical JSON of
-- {head_hash, key_fingerprint, seq, time, trail_id}.
CREATE TABLE checkpoints (
  checkpoint_no   INTEGER PRIMARY KEY,
  trail_id        TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  head_hash       TEXT NOT NULL,
  time            TEXT NOT NULL,
  key_fingerprint TEXT NOT NULL,
  signature       TEXT NOT NULL
);
${APPEND_ONLY("keys")}
${APPEND_ONLY("checkpoints")}
`;
}

/**
 * Version 3: the Merkle tree head (RFC 9162) of the trail at each checkpoint, as a C2SP
 * tlog-checkpoint in a C2SP signed note by the checkpoint's key: an anchor in a standard
 * form that transparency-log tools check (see merkle.ts, signedNote.ts).
 */
function treeHeadSchema(): string {
  return `
-- note: a C2SP signed note of a tlog-checkpoint: origin, tree size (= the checkpoint's seq), base64 Merkle root.
CREATE TABLE tree_heads (
  checkpoint_no INTEGER PRIMARY KEY,
  note          TEXT NOT NULL
);
${APPEND_ONLY("tree_heads")}
`;
}

/**
 * Version 4: sealed segments (segments.ts). `seals` is carried into every later segment: it
 * is how a segment file is found, checked (its SHA-256, signed) and linked to the next one
 * after it is pruned. The catalogs are derived data for the views (sessions and failed tool
 * calls in sealed segments), rebuilt at every seal; like events_fts they are not audit content.
 */
function segmentSchema(): string {
  return `
-- One row per sealed segment file (segments/seg-NNNNNN.db). signature = Ed25519 over canonical
-- JSON of every other column (segments.ts sealPayload). merkle_frontier: JSON array of the hex
-- roots of the perfect subtrees covering seq 1..last_seq (RFC 9162), so the Merkle tree goes on
-- without reading sealed segments.
CREATE TABLE seals (
  segment_no      INTEGER PRIMARY KEY,
  trail_id        TEXT NOT NULL,
  first_seq       INTEGER NOT NULL,
  last_seq        INTEGER NOT NULL,
  first_prev_hash TEXT NOT NULL,
  last_hash       TEXT NOT NULL,
  file_name       TEXT NOT NULL,
  file_sha256     TEXT NOT NULL,
  bytes           INTEGER NOT NULL,
  checkpoint_no   INTEGER NOT NULL,
  merkle_frontier TEXT NOT NULL,
  sealed_at       TEXT NOT NULL,
  key_fingerprint TEXT,
  signature       TEXT
);
${APPEND_ONLY("seals")}
-- The sessions view's row of every session with events in sealed segments (summed over them),
-- and the segments that hold it.
CREATE TABLE session_catalog (
  session_id TEXT PRIMARY KEY, first_seq INTEGER, last_seq INTEGER, started_at TEXT, ended_at TEXT,
  status TEXT, replay_of TEXT, task TEXT, agent_id TEXT, model_id TEXT, steps INTEGER,
  input_tokens INTEGER, output_tokens INTEGER, tool_calls INTEGER, failed_tool_calls INTEGER,
  events INTEGER, first_segment INTEGER NOT NULL, last_segment INTEGER NOT NULL
);
-- The writer's Merkle frontier (see seals.merkle_frontier) at its last checkpoint: derived,
-- like search_progress, so that extending the tree does not re-read the active segment. It is
-- used only when its root equals that checkpoint's signed tree head.
CREATE TABLE merkle_state (checkpoint_no INTEGER NOT NULL, size INTEGER NOT NULL, nodes TEXT NOT NULL);
-- Failed tool results in sealed segments, for the failures view.
CREATE TABLE failure_catalog (
  seq INTEGER PRIMARY KEY, segment_no INTEGER NOT NULL, session_id TEXT NOT NULL,
  tool_name TEXT, error_type TEXT, timestamp TEXT NOT NULL
);
`;
}

/** Brings an older trail's schema up to date in `exec`'s database; true when it changed anything. */
export function upgradeSchema(exec: (sql: string) => unknown, hasTable: (name: string) => boolean, triggerSql: (name: string) => string | undefined): boolean {
  let sql = "";
  if (!hasTable("checkpoints")) sql += checkpointSchema();
  if (!hasTable("tree_heads")) sql += treeHeadSchema();
  if (!hasTable("seals")) {
    sql += segmentSchema();
    // Only schema 3's exact trigger is replaced: an edited one stays, for verify to report.
    const norm = (t: string) => t.replace(/\s+/g, " ").trim();
    if (norm(triggerSql("events_insert_in_order") ?? "") === norm(V3_IN_ORDER_TRIGGER)) {
      sql += `DROP TRIGGER events_insert_in_order;\n${IN_ORDER_TRIGGER}\n`;
    }
  }
  if (!sql) return false;
  exec(sql + `PRAGMA user_version = ${SCHEMA_VERSION};`);
  return true;
}
