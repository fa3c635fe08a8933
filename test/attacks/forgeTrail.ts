// The forger's tools, shared by the unit and end-to-end attack tests: the sqlite3 CLI, sha256sum
// (test/attacks/rehash.sh, the recipe docs/trail-format.md publishes) and, to re-sign, an
// Ed25519 key of the forger's own. Nothing here reads or writes through the project's trail code.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkpointPayload, ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { sqlite3 } from "../helpers/sqliteCli";

const REHASH = path.resolve(__dirname, "..", "..", "..", "test", "attacks", "rehash.sh");

/** sqlite3 with every trigger dropped for `sql`, then re-created exactly as they were. */
export function withoutTriggers(db: string, sql: string): void {
  const restore = dropTriggers(db);
  const run = sqlite3(db, sql);
  assert.equal(run.status, 0, run.stderr);
  restore();
}

/** Drops every trigger; returns what re-creates them exactly as they were. */
export function dropTriggers(db: string): () => void {
  const triggers = sqlite3(db, "SELECT sql || ';' FROM sqlite_master WHERE type = 'trigger';").stdout;
  const names = sqlite3(db, "SELECT name FROM sqlite_master WHERE type = 'trigger';").stdout.trim().split("\n");
  const drop = sqlite3(db, names.map((n) => `DROP TRIGGER ${n};`).join("\n"));
  assert.equal(drop.status, 0, drop.stderr);
  return () => {
    const again = sqlite3(db, triggers);
    assert.equal(again.status, 0, again.stderr);
  };
}

/** The attack: the failed command now reads as a success, every hash recomputed, the journal gone. */
export function forge(ws: string, opts: { newTrailId?: boolean; dropSignatures?: boolean; resign?: boolean }): void {
  const db = path.join(ws, ".agent-audit", "trail.db");
  const trailId = sqlite3(db, "SELECT value FROM meta WHERE key = 'trail_id';").stdout.trim();
  const restoreTriggers = dropTriggers(db);
  const edit = sqlite3(db, `UPDATE events SET content = replace(content, '"outcome":"error"', '"outcome":"success"') WHERE event_type = 'tool_result' AND json_extract(content, '$.outcome') = 'error';`);
  assert.equal(edit.status, 0, edit.stderr);
  const rehash = spawnSync("bash", [REHASH, db], { encoding: "utf8" });
  assert.equal(rehash.status, 0, rehash.stderr);
  // A careful forger removes every signed statement: checkpoints, their keys, their tree heads.
  if (opts.dropSignatures || opts.resign) assert.equal(sqlite3(db, "DELETE FROM checkpoints; DELETE FROM keys; DELETE FROM tree_heads;").status, 0);
  if (opts.newTrailId) assert.equal(sqlite3(db, `UPDATE meta SET value = '${randomUUID()}' WHERE key = 'trail_id';`).status, 0);
  if (opts.resign) {
    // Mallory signs the rewritten head with a fresh key of her own.
    const mallory = ed25519Signer(generateSigningKey());
    const [seq, hash] = sqlite3(db, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1;").stdout.trim().split("|");
    const id = opts.newTrailId ? sqlite3(db, "SELECT value FROM meta WHERE key = 'trail_id';").stdout.trim() : trailId;
    const body = { trail_id: id, seq: Number(seq), head_hash: hash, time: new Date().toISOString(), key_fingerprint: mallory.key.fingerprint };
    const r = sqlite3(db, `INSERT INTO keys VALUES ('${body.key_fingerprint}', 'ed25519', '${mallory.key.public_key}', '${body.time}');
      INSERT INTO checkpoints VALUES (1, '${id}', ${body.seq}, '${hash}', '${body.time}', '${body.key_fingerprint}', '${mallory.sign(checkpointPayload(body))}');`);
    assert.equal(r.status, 0, r.stderr);
  }
  restoreTriggers();
  fs.rmSync(path.join(ws, ".agent-audit", "trail.journal"), { force: true });
  assert.equal(sqlite3(db, "SELECT count(*) FROM events WHERE event_type = 'tool_result' AND outcome = 'error';").stdout.trim(), "0", "the failure is gone from the file");
}

/** A `sessions` view that hides every failed tool call, put in place of the real one. */
export function editSessionsView(db: string): void {
  const view = sqlite3(db, "SELECT sql FROM sqlite_master WHERE name = 'sessions';").stdout.trim();
  withoutTriggers(db, `DROP VIEW sessions; ${view.replace("count(CASE WHEN event_type = 'tool_result' AND outcome = 'error' THEN 1 END) AS failed_tool_calls", "0 AS failed_tool_calls")};`);
}

/** The `outcome` generated column rewritten to say every result succeeded (writable_schema, then REINDEX). */
export function editGeneratedColumn(db: string): void {
  const r = sqlite3(db, `PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'json_extract(content, ''$.outcome'')', '''success''') WHERE name = 'events'; PRAGMA writable_schema = OFF;`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sqlite3(db, "REINDEX;").status, 0);
}
