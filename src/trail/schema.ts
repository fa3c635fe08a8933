import { GENESIS_HASH } from "./hashChain";

/**
 * Bumped when the layout changes. PRAGMA user_version holds the file's current version;
 * `meta.schema_version` the version the trail was created with (meta is append-only).
 * 2: keys and checkpoints (signed checkpoints).
 * 3: tree_heads (each checkpoint's Merkle tree head as a C2SP signed note).
 */
export const SCHEMA_VERSION = 3;

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
-- it sent by one hash that chains the messages (src/trail/conversation.ts), so the trail grows
-- with the conversation, not with its square.
CREATE TABLE blobs (
  hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  body TEXT NOT NULL
);

CREATE TRIGGER events_insert_in_order BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events)
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM events WHERE seq = NEW.seq - 1), '${GENESIS_HASH}')
BEGIN SELECT RAISE(ABORT, 'agent-audit: events are append-only; seq must be the next number and prev_hash the current head hash'); END;
${APPEND_ONLY("events")}
${APPEND_ONLY("blobs")}
${APPEND_ONLY("meta")}
${checkpointSchema()}
${treeHeadSchema()}
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

/** Brings an older trail's schema up to date in `exec`'s database; true when it changed anything. */
export function upgradeSchema(exec: (sql: string) => unknown, hasTable: (name: string) => boolean): boolean {
  let sql = "";
  if (!hasTable("checkpoints")) sql += checkpointSchema();
  if (!hasTable("tree_heads")) sql += treeHeadSchema();
  if (!sql) return false;
  exec(sql + `PRAGMA user_version = ${SCHEMA_VERSION};`);
  return true;
}
