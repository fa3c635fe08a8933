// The attack suite: each attack is done the way a person would do it (the sqlite3 CLI, a
// script that re-hashes, copying an old file back, flipping bytes) on a trail made by the
// real runner, and `agent-audit verify` must name the right finding and seq.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { anchorPathFor } from "../../src/trail/trust/anchorFile";
import { computeEventHash } from "../../src/trail/integrity/hashChain";
import { checkpointPayload, ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { loadSqlEngine } from "../../src/trail/store/sqlEngine";
import { TrailStore } from "../../src/trail/store/trailStore";
import type { Finding } from "../../src/trail/integrity/verifyChain";
import type { VerifyReport } from "../../src/trail/integrity/verifyTrail";
import { verifyTrail } from "../../src/trail/integrity/verifyTrail";
import type { Turn } from "../fakeAnthropic/scenario";
import { runScenario } from "../helpers/agentHarness";
import { sqlite3 } from "../helpers/sqliteCli";
import { withoutTriggers } from "../attacks/forgeTrail";
import { tempDir } from "../helpers/tempDir";

const CLI = path.resolve(__dirname, "..", "..", "..", "dist", "cli.js");
type T = { after(fn: () => void | Promise<void>): void };

interface Made {
  /** A pristine copy of the workspace's .agent-audit folder. */
  pristine: string;
  configDir: string;
  anchor: string;
  trailId: string;
  events: number;
  checkpointSeqs: number[];
}

/** A real session (24 events, a checkpoint every 5 and at the end), flushed to trail.db. */
async function makeTrail(t: T): Promise<Made> {
  const configDir = tempDir(t, "aat-keys-");
  const signerPem = generateSigningKey();
  fs.writeFileSync(path.join(configDir, "signing-key.pem"), signerPem, { mode: 0o600 });
  const turns: Turn[] = [];
  for (let i = 0; i < 6; i++) turns.push({ content: [{ type: "text", text: `step ${i}` }, { type: "tool_use", name: "list_directory", input: { path: "." } }] });
  turns.push({ content: [{ type: "text", text: "done" }] });
  const r = await runScenario(t, { turns }, {
    storeOptions: { signer: ed25519Signer(signerPem), checkpointEvery: 5, anchorDir: path.join(configDir, "anchors") },
  });
  await r.store.close();
  const pristine = path.join(tempDir(t, "aat-pristine-"), ".agent-audit");
  fs.cpSync(path.dirname(r.trailPath), pristine, { recursive: true });
  const cps = sqlite3(path.join(pristine, "trail.db"), "SELECT seq FROM checkpoints ORDER BY checkpoint_no;").stdout.trim().split("\n").map(Number);
  const trailId = r.store.trailId;
  return { pristine, configDir, anchor: anchorPathFor(path.join(configDir, "anchors"), trailId), trailId, events: r.store.head.seq, checkpointSeqs: cps };
}

/** A fresh workspace holding a copy of the pristine trail, to attack. */
function victim(t: T, made: Made): { ws: string; db: string } {
  const ws = tempDir(t, "aat-victim-");
  fs.cpSync(made.pristine, path.join(ws, ".agent-audit"), { recursive: true });
  return { ws, db: path.join(ws, ".agent-audit", "trail.db") };
}

function verify(ws: string, made: Made, extra: string[] = [], configDir = made.configDir): { code: number | null; report: VerifyReport; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, "verify", "--workspace", ws, "--json", ...extra], {
    encoding: "utf8",
    env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: configDir },
  });
  return { code: r.status, report: r.stdout ? JSON.parse(r.stdout) : undefined, stdout: r.stdout + r.stderr };
}

const errors = (r: VerifyReport): [string, number | undefined][] => r.findings.filter((f: Finding) => f.severity === "error").map((f) => [f.category, f.seq]);

test("tamper evidence: the attack suite", { timeout: 300_000 }, async (t) => {
  const made = await makeTrail(t);
  assert.ok(made.events >= 20, `the session has ${made.events} events`);
  assert.deepEqual(made.checkpointSeqs.slice(0, 2), [5, 10]);
  assert.equal(made.checkpointSeqs.at(-1), made.events, "the session end was signed");
  const anchor = ["--anchor", made.anchor];

  await t.test("an untouched trail verifies valid, with its checkpoints and the anchor", () => {
    const { ws } = victim(t, made);
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 0, v.stdout);
    assert.deepEqual(errors(v.report), []);
    assert.equal(v.report.lastSignedSeq, made.events);
    assert.equal(v.report.anchor?.seq, made.events);
  });

  await t.test("1. DROP TRIGGER, UPDATE one event, re-create the trigger → HASH_MISMATCH at it", () => {
    const { ws, db } = victim(t, made);
    withoutTriggers(db, "UPDATE events SET content = replace(content, 'list_directory', 'run_command') WHERE seq = 7;");
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 1);
    assert.deepEqual(errors(v.report), [["HASH_MISMATCH", 7]]);
  });

  await t.test("2. the same, re-hashing every later event → SIGNATURE_INVALID at the next checkpoint, ROLLBACK against the anchor", async () => {
    const { ws, db } = victim(t, made);
    withoutTriggers(db, "UPDATE events SET content = replace(content, 'list_directory', 'run_command') WHERE seq = 7;");
    // What an attacker's script would do: recompute each hash from seq 7 on.
    const rows = JSON.parse(sqlite3(db, ".mode json\nSELECT seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number, parent_event_id, model_id, system_prompt_hash, agent_version, content, prev_hash, hash FROM events ORDER BY seq;").stdout);
    let prev = rows[5].hash;
    const updates: string[] = [];
    for (const row of rows.slice(6)) {
      const hash = computeEventHash(prev, row);
      updates.push(`UPDATE events SET prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${row.seq};`);
      prev = hash;
    }
    withoutTriggers(db, updates.join("\n"));
    const inner = verify(ws, made);
    assert.equal(inner.code, 1);
    assert.deepEqual(errors(inner.report)[0], ["SIGNATURE_INVALID", 10], "the first checkpoint after seq 7 no longer matches");
    const withAnchor = verify(ws, made, anchor);
    assert.ok(errors(withAnchor.report).some(([c, s]) => c === "ROLLBACK" && s === made.events));
  });

  await t.test("3. delete one event → SEQ_GAP at it", () => {
    const { ws, db } = victim(t, made);
    withoutTriggers(db, "DELETE FROM events WHERE seq = 12;");
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 1);
    assert.deepEqual(errors(v.report)[0], ["SEQ_GAP", 12]);
    assert.equal(v.report.findings[0].toSeq, 12);
  });

  await t.test("4a. delete the newest events (checkpoints too) → TRUNCATED via the journal, and via the anchor when the journal is gone too", () => {
    const { ws, db } = victim(t, made);
    withoutTriggers(db, `DELETE FROM events WHERE seq > 15; DELETE FROM checkpoints WHERE seq > 15; DELETE FROM tree_heads WHERE checkpoint_no NOT IN (SELECT checkpoint_no FROM checkpoints);`);
    const byJournal = verify(ws, made, [], tempDir(t, "aat-no-anchor-"));
    assert.equal(byJournal.code, 1, byJournal.stdout);
    assert.deepEqual(errors(byJournal.report), [["TRUNCATED", 16]], "the journal still knows where the trail ended");
    fs.rmSync(db.replace(/\.db$/, ".journal")); // a careful attacker removes it too
    const blind = verify(ws, made, [], tempDir(t, "aat-no-anchor-"));
    // Without an anchor, a pin or a trusted key nothing inside the file gives it away, and the
    // verdict says exactly that: consistent, not authenticated (exit 3), never "valid".
    assert.equal(blind.code, 3, blind.stdout);
    assert.equal(blind.report.authenticated, false);
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 1);
    assert.deepEqual(errors(v.report), [["TRUNCATED", 16]]);
    assert.equal(v.report.findings.find((f) => f.category === "TRUNCATED")?.toSeq, made.events);
  });

  await t.test("4b. restore an older copy of the file → TRUNCATED via the anchor (found by default in the config folder)", async () => {
    const ws = tempDir(t, "aat-older-");
    const older = path.join(ws, ".agent-audit");
    fs.mkdirSync(older);
    // An older copy: the same trail when it had 10 events.
    const SQL = await loadSqlEngine();
    const db = new SQL.Database(Uint8Array.from(fs.readFileSync(path.join(made.pristine, "trail.db"))));
    db.exec("DROP TRIGGER events_no_delete; DROP TRIGGER checkpoints_no_delete; DROP TRIGGER tree_heads_no_delete; DELETE FROM events WHERE seq > 10; DELETE FROM checkpoints WHERE seq > 10; DELETE FROM tree_heads WHERE checkpoint_no NOT IN (SELECT checkpoint_no FROM checkpoints);");
    const ref = new SQL.Database(Uint8Array.from(fs.readFileSync(path.join(made.pristine, "trail.db"))));
    for (const row of ref.exec("SELECT sql FROM sqlite_master WHERE name IN ('events_no_delete', 'checkpoints_no_delete', 'tree_heads_no_delete')")[0].values) db.exec(String(row[0]));
    fs.writeFileSync(path.join(older, "trail.db"), db.export());
    const v = verify(ws, made);
    assert.equal(v.code, 1, v.stdout);
    assert.deepEqual(errors(v.report), [["TRUNCATED", 11]]);
  });

  await t.test("5. swap two events' order → found (CHAIN_BREAK and HASH_MISMATCH at the first)", () => {
    const { ws, db } = victim(t, made);
    withoutTriggers(db, "UPDATE events SET seq = -8 WHERE seq = 8; UPDATE events SET seq = 8 WHERE seq = 9; UPDATE events SET seq = 9 WHERE seq = -8;");
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 1);
    assert.deepEqual(errors(v.report).slice(0, 2), [["CHAIN_BREAK", 8], ["HASH_MISMATCH", 8]]);
  });

  await t.test("6. forge a checkpoint with another key → KEY_UNKNOWN; claim our key's fingerprint → SIGNATURE_INVALID", () => {
    const { ws, db } = victim(t, made);
    const mallory = ed25519Signer(generateSigningKey());
    const head = sqlite3(db, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1;").stdout.trim().split("|");
    const next = Number(sqlite3(db, "SELECT max(checkpoint_no) + 1 FROM checkpoints;").stdout);
    const body = { trail_id: made.trailId, seq: Number(head[0]), head_hash: head[1], time: new Date().toISOString(), key_fingerprint: mallory.key.fingerprint };
    const sig = mallory.sign(checkpointPayload(body));
    const r = sqlite3(db, `INSERT INTO keys VALUES ('${mallory.key.fingerprint}', 'ed25519', '${mallory.key.public_key}', '${body.time}');
      INSERT INTO checkpoints VALUES (${next}, '${made.trailId}', ${body.seq}, '${body.head_hash}', '${body.time}', '${mallory.key.fingerprint}', '${sig}');`);
    assert.equal(r.status, 0, r.stderr);
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 1);
    assert.deepEqual(errors(v.report), [["KEY_UNKNOWN", body.seq]]);

    const ours = sqlite3(db, "SELECT key_fingerprint FROM checkpoints WHERE checkpoint_no = 1;").stdout.trim();
    const claimed = { ...body, key_fingerprint: ours };
    sqlite3(db, `INSERT INTO checkpoints VALUES (${next + 1}, '${made.trailId}', ${body.seq}, '${body.head_hash}', '${body.time}', '${ours}', '${mallory.sign(checkpointPayload(claimed))}');`);
    const v2 = verify(ws, made, anchor);
    assert.ok(errors(v2.report).some(([c, s]) => c === "SIGNATURE_INVALID" && s === body.seq));
  });

  await t.test("7. drop the triggers and leave everything else → TRIGGERS_MISSING", () => {
    const { ws, db } = victim(t, made);
    sqlite3(db, "DROP TRIGGER events_no_update; DROP TRIGGER events_insert_in_order;");
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 1);
    assert.deepEqual(errors(v.report).map(([c]) => c), ["TRIGGERS_MISSING"]);
    assert.match(v.report.findings[0].message, /events_insert_in_order, events_no_update|events_no_update.*events_insert_in_order/);
  });

  await t.test("8. one random byte of the database file mutated, 1,000 times (fixed seed): never 'valid' when events changed", async () => {
    const SQL = await loadSqlEngine();
    const original = fs.readFileSync(path.join(made.pristine, "trail.db"));
    const readEvents = (bytes: Uint8Array): string => {
      const db = new SQL.Database(bytes);
      try {
        return JSON.stringify(db.exec("SELECT seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number, parent_event_id, model_id, system_prompt_hash, agent_version, content, prev_hash, hash FROM events ORDER BY seq"));
      } finally {
        db.close();
      }
    };
    const reference = readEvents(Uint8Array.from(original));
    const anchorFile = JSON.parse(fs.readFileSync(made.anchor, "utf8"));
    const ws = tempDir(t, "aat-bytes-");
    fs.mkdirSync(path.join(ws, ".agent-audit"));
    const file = path.join(ws, ".agent-audit", "trail.db");
    let seed = 0x5eed;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const tally = { valid_unchanged: 0, found: 0, unreadable: 0 };
    for (let i = 0; i < 1000; i++) {
      const bytes = Buffer.from(original);
      const at = Math.floor(rand() * bytes.length);
      bytes[at] = (bytes[at] + 1 + Math.floor(rand() * 255)) & 0xff;
      let changed: boolean;
      try {
        changed = readEvents(Uint8Array.from(bytes)) !== reference;
      } catch {
        changed = true;
      }
      fs.writeFileSync(file, bytes);
      let valid = false;
      try {
        const { store } = await TrailStore.open(file, { readOnly: true });
        try {
          valid = verifyTrail(store.database, { sql: SQL, anchor: anchorFile }).valid;
        } finally {
          await store.close();
        }
      } catch {
        tally.unreadable++;
        continue; // "cannot read this trail" is a finding, not a pass
      }
      if (valid) {
        assert.equal(changed, false, `byte ${at} changed the events but verify said valid`);
        tally.valid_unchanged++;
      } else tally.found++;
    }
    t.diagnostic(`byte mutations: ${JSON.stringify(tally)}`);
    assert.ok(tally.found + tally.unreadable > 0);
  });

  await t.test("a verifier whose own key never signed this trail says it is consistent, not authenticated, until it trusts the signer", () => {
    const { ws } = victim(t, made);
    const other = tempDir(t, "aat-other-key-");
    fs.writeFileSync(path.join(other, "signing-key.pem"), generateSigningKey(), { mode: 0o600 });
    const v = verify(ws, made, [], other);
    assert.equal(v.code, 3, v.stdout);
    assert.equal(v.report.valid, true);
    assert.equal(v.report.authenticated, false);
    assert.deepEqual(v.report.trustedKeys, []);
    assert.equal(spawnSync(process.execPath, [CLI, "verify", "--workspace", ws, "--strict"], { encoding: "utf8", env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: other } }).status, 1);
    // Trusting the signer (its anchor file, as `checkpoint --print` writes it) authenticates it.
    const added = spawnSync(process.execPath, [CLI, "trust", "add", made.anchor], { encoding: "utf8", env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: other } });
    assert.equal(added.status, 0, added.stderr);
    const trusted = verify(ws, made, [], other);
    assert.equal(trusted.code, 0, trusted.stdout);
    assert.equal(trusted.report.authenticated, true);
  });

  await t.test("9. a correct trail from a crashed session (torn journal tail discarded on reopen) verifies valid", async () => {
    const { ws, db } = victim(t, made);
    const journal = db.replace(/\.db$/, ".journal");
    // A crash mid-write: half a record after the last good line, never acknowledged.
    fs.appendFileSync(journal, '{"e":{"seq":999,"event_id":"x","session_id":"s","conte');
    const v = verify(ws, made, anchor);
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /unfinished write/);
    const { store } = await TrailStore.open(db);
    await store.close();
    assert.equal(verify(ws, made, anchor).code, 0, "still valid after the reopen discarded it");
  });
});
