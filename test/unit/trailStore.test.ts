import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { canonicalJson } from "../../src/trail/integrity/canonicalJson";
import { computeEventHash, GENESIS_HASH, sha256Hex } from "../../src/trail/integrity/hashChain";
import { loadSqlEngine } from "../../src/trail/store/sqlEngine";
import { TrailError } from "../../src/trail/store/trailErrors";
import { getBlob, sessionEvents } from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import { verifyChain } from "../../src/trail/integrity/verifyChain";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";

const toolResult = (i: number) => ({
  session_id: "s1",
  event_type: "tool_result",
  step_number: i,
  content: { tool_name: "read_file", outcome: "success", output: `line ${i}`, execution_time_ms: i },
});

test("appends get gapless seqs from 1, a valid chain, and survive close and reopen", async (t) => {
  const file = path.join(tempDir(t), ".agent-audit", "trail.db");
  const { store, report } = await TrailStore.open(file);
  assert.equal(report.created, true);
  const stored = [];
  for (let i = 0; i < 5; i++) stored.push(await store.append(toolResult(i)));
  assert.deepEqual(stored.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.equal(stored[0].prev_hash, GENESIS_HASH);
  assert.equal(stored[1].prev_hash, stored[0].hash);
  assert.match(stored[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(stored[0].event_id, /^[0-9a-f-]{36}$/);
  await store.close();

  const again = await TrailStore.open(file);
  const rows = sessionEvents(again.store.database, "s1");
  assert.equal(rows.length, 5);
  assert.equal(rows[4].hash, stored[4].hash);
  assert.equal(rows[2].tool_name, "read_file");
  assert.equal(rows[2].execution_time_ms, 2);
  assert.equal(verifyChain(again.store.database).ok, true);
  const next = await again.store.append(toolResult(5));
  assert.equal(next.seq, 6);
  await again.store.close();
});

test("the hash is SHA-256 of prev_hash and the canonical event, recomputable from the row", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file);
  const e = await store.append({ ...toolResult(1), content: { b: 1, a: [true, null, "x"] } });
  await store.close();
  assert.equal(e.content, '{"a":[true,null,"x"],"b":1}');
  const { content, prev_hash, hash, ...fields } = e;
  const canonical = canonicalJson({ ...fields, content: JSON.parse(content) });
  assert.equal(hash, sha256Hex(prev_hash + canonical));
  assert.equal(hash, computeEventHash(prev_hash, e));
});

test("UPDATE, DELETE and out-of-order INSERT are rejected, in sql.js and through the sqlite3 CLI on the saved file", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file);
  for (let i = 0; i < 3; i++) await store.append(toolResult(i));
  const db = store.database;
  assert.throws(() => db.run("UPDATE events SET content = '{}' WHERE seq = 2"), /append-only; UPDATE is not allowed/);
  assert.throws(() => db.run("DELETE FROM events WHERE seq = 3"), /append-only; DELETE is not allowed/);
  await store.close();

  const before = fs.readFileSync(file);
  const attempts = [
    "UPDATE events SET content = '{}' WHERE seq = 2;",
    "DELETE FROM events WHERE seq = 3;",
    "DELETE FROM meta;",
    "INSERT INTO events (seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number, content, prev_hash, hash) VALUES (7, 'x', 's', 'a', 'u', 't', 'tool_call', 0, '{}', 'bad', 'h');",
    "INSERT INTO events (seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number, content, prev_hash, hash) VALUES (4, 'x', 's', 'a', 'u', 't', 'tool_call', 0, '{}', 'not-the-head', 'h');",
  ];
  for (const sql of attempts) {
    const r = sqlite3(file, sql);
    assert.notEqual(r.status, 0, `sqlite3 accepted: ${sql}`);
    assert.match(r.stderr, /agent-audit: (events|meta) (is|are) append-only/);
  }
  assert.equal(sqlite3(file, "SELECT count(*) FROM events;").stdout.trim(), "3");
  assert.deepEqual(fs.readFileSync(file), before);
});

test("UPDATE via sql.js with rows present is rejected for blobs too", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), "trail.db"));
  await store.append({ ...toolResult(1), blobs: [{ kind: "system_prompt", body: "You are careful." }] });
  assert.throws(() => store.database.run("UPDATE blobs SET body = 'x'"), /blobs is append-only/);
  assert.throws(() => store.database.run("DELETE FROM blobs"), /blobs is append-only/);
  await store.close();
});

test("verify catches one flipped byte in any event's content and names the seq", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file);
  for (let i = 0; i < 12; i++) await store.append(toolResult(i));
  await store.close();
  const SQL = await loadSqlEngine();
  const bytes = fs.readFileSync(file);
  for (let seq = 1; seq <= 12; seq++) {
    const db = new SQL.Database(Uint8Array.from(bytes)); // sql.js takes over the buffer it is given
    assert.equal(verifyChain(db).ok, true);
    const content = String(db.exec("SELECT content FROM events WHERE seq = ?", [seq])[0].values[0][0]);
    const at = content.indexOf("line ") + 2; // inside a value, so the JSON stays well-formed
    const flipped = content.slice(0, at) + String.fromCharCode(content.charCodeAt(at) ^ 1) + content.slice(at + 1);
    db.run("DROP TRIGGER events_no_update");
    db.run("UPDATE events SET content = ? WHERE seq = ?", [flipped, seq]);
    const report = verifyChain(db);
    assert.equal(report.ok, false);
    assert.equal(report.problems[0].category, "HASH_MISMATCH");
    assert.equal(report.problems[0].seq, seq);
    db.close();
  }
});

test("verify reports a deleted event as a gap and a reordered pair as a chain break", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file);
  for (let i = 0; i < 6; i++) await store.append(toolResult(i));
  await store.close();
  const SQL = await loadSqlEngine();
  const db = new SQL.Database(fs.readFileSync(file));
  db.run("DROP TRIGGER events_no_delete");
  db.run("DELETE FROM events WHERE seq = 4");
  const report = verifyChain(db);
  assert.equal(report.problems[0].category, "SEQ_GAP");
  assert.equal(report.problems[0].seq, 4);
  assert.equal(report.problems[0].toSeq, 4);

  const swapped = new SQL.Database(Uint8Array.from(fs.readFileSync(file)));
  swapped.run("DROP TRIGGER events_no_update");
  swapped.run("UPDATE events SET seq = -3 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 4; UPDATE events SET seq = 4 WHERE seq = -3;");
  const swapReport = verifyChain(swapped);
  assert.equal(swapReport.ok, false);
  assert.deepEqual(swapReport.problems.slice(0, 2).map((p) => [p.category, p.seq]), [["CHAIN_BREAK", 3], ["HASH_MISMATCH", 3]]);
});

test("system prompts and messages are stored once and readable by hash", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), "trail.db"));
  const prompt = "You are a careful agent.";
  const message = canonicalJson({ role: "user", content: "hello" });
  for (let i = 0; i < 3; i++) {
    await store.append({
      ...toolResult(i),
      event_type: "llm_call",
      system_prompt_hash: sha256Hex(prompt),
      blobs: [
        { kind: "system_prompt", body: prompt },
        { kind: "message", body: message },
      ],
    });
  }
  const count = store.database.exec("SELECT kind, count(*) FROM blobs GROUP BY kind ORDER BY kind")[0].values;
  assert.deepEqual(count, [["message", 1], ["system_prompt", 1]]);
  assert.equal(getBlob(store.database, sha256Hex(prompt)), prompt);
  await store.close();
});

test("a torn write at the end of the journal is discarded on reopen, kept aside, and never accepted", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "trail.db");
  const { store } = await TrailStore.open(file, { idleSnapshotMs: 60_000 });
  for (let i = 0; i < 4; i++) await store.append(toolResult(i));
  const journal = store.journalPath;
  // Simulate a crash: the process dies without closing (no snapshot), leaving a half record.
  const full = fs.readFileSync(journal);
  const lastLine = full.subarray(full.lastIndexOf(0x0a, full.length - 2) + 1);
  fs.appendFileSync(journal, lastLine.subarray(0, 60));

  const messages: string[] = [];
  const { store: reopened, report } = await TrailStore.open(file, { log: (m) => messages.push(m) });
  assert.equal(report.discardedBytes, 60);
  assert.ok(report.discardedCopy && fs.existsSync(report.discardedCopy));
  assert.equal(fs.readFileSync(report.discardedCopy!).length, 60);
  assert.ok(messages.some((m) => /discarded 60 bytes/.test(m)));
  assert.equal(reopened.head.seq, 4);
  assert.equal(verifyChain(reopened.database).ok, true);
  assert.equal((await reopened.append(toolResult(9))).seq, 5);
  await reopened.close();
  await store.close().catch(() => undefined);
});

test("a complete journal record that fails its check is corruption: never accepted, never cut; writers refuse, readers show what comes before", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file, { idleSnapshotMs: 60_000 });
  for (let i = 0; i < 5; i++) await store.append(toolResult(i));
  const journal = store.journalPath;
  const text = fs.readFileSync(journal, "utf8");
  assert.ok(text.includes("line 2"));
  fs.writeFileSync(journal, text.replace("line 2", "line X")); // seq 3 of 5: acknowledged records follow it
  const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  const before = [sha(file), sha(journal)];
  await assert.rejects(TrailStore.open(file), (err: unknown) => {
    assert.ok(err instanceof TrailError);
    assert.equal(err.code, "CORRUPT");
    assert.match(err.message, /damaged at byte \d+ \(seq 3–5\).*Nothing was changed/);
    return true;
  });
  assert.deepEqual([sha(file), sha(journal)], before, "opening changed the files");
  assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), ["trail.db", "trail.journal"], "no copy, no truncation");
  const { store: reader, report } = await TrailStore.open(file, { readOnly: true });
  assert.equal(reader.head.seq, 2, "every event before the damage is shown");
  assert.deepEqual(report.corruption && [report.corruption.fromSeq, report.corruption.toSeq], [3, 5]);
  await reader.close();
  assert.deepEqual([sha(file), sha(journal)], before);
  await store.close().catch(() => undefined);
});

test("a corrupted or non-SQLite trail file gives a clear error naming it and is left untouched", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "trail.db");
  fs.writeFileSync(file, "this is not a database at all\n".repeat(20));
  const before = fs.readFileSync(file);
  await assert.rejects(TrailStore.open(file), (err: unknown) => {
    assert.ok(err instanceof TrailError);
    assert.equal(err.code, "CORRUPT");
    assert.ok(err.message.includes(file));
    assert.match(err.message, /not an SQLite database.*left untouched/);
    return true;
  });
  assert.deepEqual(fs.readFileSync(file), before);
  assert.deepEqual(fs.readdirSync(dir), ["trail.db"]);

  // A real SQLite header with garbage pages after it.
  const good = path.join(dir, "good.db");
  const { store } = await TrailStore.open(good);
  for (let i = 0; i < 3; i++) await store.append(toolResult(i));
  await store.close();
  const bytes = fs.readFileSync(good);
  for (let i = 100; i < bytes.length; i += 7) bytes[i] ^= 0x5a;
  fs.writeFileSync(file, bytes);
  fs.rmSync(path.join(dir, "good.journal"));
  await assert.rejects(TrailStore.open(file), /is not a readable Agent Audit trail.*left untouched/);
  assert.deepEqual(fs.readFileSync(file), bytes);
});

test("a trail changed on disk by someone else is reloaded, never overwritten", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file);
  await store.append(toolResult(1));
  await store.flush();
  // Someone adds a row with the sqlite3 CLI while we have the trail open.
  const r = sqlite3(file, "INSERT INTO meta (key, value) VALUES ('reviewed_by', 'auditor');");
  assert.equal(r.status, 0, r.stderr);
  await store.append(toolResult(2));
  await store.flush();
  const after = sqlite3(file, "SELECT value FROM meta WHERE key = 'reviewed_by'; SELECT count(*) FROM events;");
  assert.equal(after.stdout.trim(), "auditor\n2");
  await store.close();
});

test("the database file holds every event shortly after the last append, without close()", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file, { idleSnapshotMs: 300 });
  for (let i = 0; i < 20; i++) await store.append(toolResult(i));
  assert.equal(sqlite3(file, "SELECT count(*) FROM events;").stdout.trim(), "0");
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(sqlite3(file, "SELECT count(*) FROM events;").stdout.trim(), "20");
  await store.close();
});

test("a bad event is rejected with a clear message and does not sink its batch", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), "trail.db"));
  const results = await Promise.allSettled([
    store.append(toolResult(1)),
    store.append({ ...toolResult(2), event_id: "dup" }),
    store.append({ ...toolResult(3), event_id: "dup" }),
    store.append({ ...toolResult(4), content: { n: Number.NaN } }),
    store.append(toolResult(5)),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "rejected", "rejected", "fulfilled"]);
  assert.match(String((results[3] as PromiseRejectedResult).reason.message), /not a finite number/);
  assert.equal(store.head.seq, 3);
  assert.equal(verifyChain(store.database).ok, true);
  await store.close();
  await assert.rejects(store.append(toolResult(6)), /closed/);
});

test("a read-only open repairs nothing and cannot append", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file, { idleSnapshotMs: 60_000 });
  await store.append(toolResult(1));
  fs.appendFileSync(store.journalPath, "{\"e\":{\"seq\":");
  const size = fs.statSync(store.journalPath).size;
  const ro = await TrailStore.open(file, { readOnly: true });
  assert.equal(ro.store.head.seq, 1);
  assert.equal(ro.report.discardedBytes, 12);
  assert.equal(fs.statSync(store.journalPath).size, size);
  await assert.rejects(ro.store.append(toolResult(2)), /read-only/);
  await ro.store.close();
  await store.close().catch(() => undefined);
});

test("the sqlite3 CLI and sha256 alone recompute every hash (the recipe in docs/trail-format.md)", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file);
  await store.append({ ...toolResult(1), content: { text: 'quote " backslash \\ tab \t newline \n é 日本 😀 \u2028', n: 1.5, z: [null, false] } });
  await store.append({ ...toolResult(2), parent_event_id: null, model_id: "m", agent_version: "1.0.0" });
  await store.close();
  const sql = `SELECT prev_hash || json_object('agent_id',agent_id,'agent_version',agent_version,'content',json(content),
    'event_id',event_id,'event_type',event_type,'model_id',model_id,'parent_event_id',parent_event_id,'seq',seq,
    'session_id',session_id,'step_number',step_number,'system_prompt_hash',system_prompt_hash,'timestamp',timestamp,
    'user_id',user_id) FROM events WHERE seq = `;
  for (const seq of [1, 2]) {
    const text = sqlite3(file, `${sql}${seq};`).stdout.replace(/\n$/, "");
    const stored = sqlite3(file, `SELECT hash FROM events WHERE seq = ${seq};`).stdout.trim();
    assert.equal(sha256Hex(text), stored, `seq ${seq}`);
  }
});
