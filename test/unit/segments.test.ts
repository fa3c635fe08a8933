import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import * as fs from "node:fs";
import { StoreTrailSource } from "../../src/extension/trailSource";
import { pruneSegments } from "../../src/trail/store/retention";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { verifyTrail } from "../../src/trail/integrity/verifyTrail";
import type { Ack } from "../helpers/childAppender";
import { startAppender } from "../helpers/childAppender";
import { runCli } from "../helpers/cliRunner";
import { TrailReader } from "../../src/trail/reading/trailReader";
import { sessionEvents as eventsOfSession } from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";
import type { TrailStoreOptions } from "../../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";

const SMALL: TrailStoreOptions = { sealBytes: 40_000, checkpointEvery: 20 };

/** A trail with several sealed segments: sessions of `steps` steps, one of them spanning seals. */
export async function sealedTrail(dir: string, opts: TrailStoreOptions = {}) {
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const signer = ed25519Signer(generateSigningKey());
  const { store } = await TrailStore.open(trailPath, { ...SMALL, signer, ...opts });
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const events = sessionEvents({ task: `task ${i}`, steps: i === 3 ? 30 : 6, failures: 2, outputBytes: 800 });
    ids.push(events[0].session_id);
    // A few events per commit, as a running agent writes them: seals fall inside sessions.
    await appendLinked(store, events, 8);
    // Time passes between sessions (a seal's worker finishes while appends go on; without the
    // pause these few KB would all be written before the first seal is done).
    await store.flush();
  }
  await store.flush();
  return { trailPath, store, ids, signer };
}

test("the active segment is sealed past sealBytes: segment files any sqlite3 reads, a continuous chain, a signed seal", async (t) => {
  const dir = tempDir(t);
  const { trailPath, store, ids } = await sealedTrail(dir);
  const seals = store.seals;
  assert.ok(seals.length >= 3, `several seals, got ${seals.length}`);
  let prev = "0".repeat(64);
  let next = 1;
  for (const s of seals) {
    assert.equal(s.first_seq, next, "segments are contiguous");
    assert.equal(s.first_prev_hash, prev, "each segment links to the previous one's last hash");
    assert.ok(s.signature, "seals are signed");
    const file = path.join(dir, ".agent-audit", "segments", s.file_name);
    const r = sqlite3(file, "SELECT min(seq), max(seq), (SELECT prev_hash FROM events ORDER BY seq LIMIT 1), (SELECT hash FROM events ORDER BY seq DESC LIMIT 1) FROM events;");
    assert.equal(r.stdout.trim(), `${s.first_seq}|${s.last_seq}|${s.first_prev_hash}|${s.last_hash}`, "sqlite3 reads the sealed segment");
    prev = s.last_hash;
    next = s.last_seq + 1;
  }
  assert.equal(store.activeBase.seq, next - 1);
  // The active trail.db holds only the events after the last seal.
  const active = sqlite3(trailPath, "SELECT coalesce(min(seq), 0) FROM events; SELECT count(*) FROM seals;").stdout.trim().split("\n");
  assert.ok(Number(active[0]) === 0 || Number(active[0]) === next, `active starts after the last seal: ${active[0]}`);
  assert.equal(Number(active[1]), seals.length);

  // Every session reads as one, with all its events, from the reader.
  const reader = new TrailReader(store);
  const list = reader.listSessions();
  assert.deepEqual(new Set(list.map((s) => s.session_id)), new Set(ids));
  for (const id of ids) {
    const summary = reader.getSession(id)!;
    const events = eventsOfSession(reader.sessionDatabase(id), id);
    assert.equal(events.length, summary.events, `session ${id.slice(0, 8)}: all events`);
    assert.equal(summary.status, "completed");
    assert.equal(summary.failed_tool_calls, 2);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].seq > events[i - 1].seq);
  }
  const spanning = reader.getSession(ids[3])!;
  const sealOf = (seq: number) => seals.find((s) => s.first_seq <= seq && seq <= s.last_seq)?.segment_no ?? "active";
  assert.notEqual(sealOf(spanning.first_seq), sealOf(spanning.last_seq), "the long session spans a seal");
  assert.equal(reader.resolveSessionId(ids[0].slice(0, 8)), ids[0]);
  reader.release();

  // Appends go on after reopening, chained to the last sealed event.
  await store.close();
  const { store: again } = await TrailStore.open(trailPath, SMALL);
  const head = again.head;
  const e = await again.append({ session_id: "after", event_type: "session_start", content: { task: "after" } });
  assert.equal(e.seq, head.seq + 1);
  assert.equal(e.prev_hash, head.hash);
  await again.close();
});

/** Checks every acknowledged event is in the trail (whatever segment holds it) and the whole trail verifies. */
async function assertWhole(trailPath: string, acks: Ack[]): Promise<number> {
  const { store } = await TrailStore.open(trailPath, { readOnly: true });
  try {
    const reader = new TrailReader(store);
    const rows = new Map(reader.eventsBySeq(acks.map((a) => a.seq)).map((r) => [r.seq, r]));
    for (const a of acks) {
      const row = rows.get(a.seq);
      assert.ok(row, `acknowledged seq ${a.seq} is missing`);
      assert.equal(row.hash, a.hash, `seq ${a.seq} differs from what was acknowledged`);
      assert.equal(row.event_id, a.eventId);
    }
    const report = verifyTrail(store.database, { sql: store.sqlEngine, segmentsDir: store.segmentsDir });
    const errors = report.findings.filter((f) => f.severity === "error");
    assert.deepEqual(errors, [], "the trail verifies");
    assert.equal(report.events, store.head.seq, "every event was walked");
    reader.release();
    return store.head.seq;
  } finally {
    await store.close();
  }
}

function keyFile(dir: string): string {
  const f = path.join(dir, "key.pem");
  fs.writeFileSync(f, generateSigningKey(), { mode: 0o600 });
  return f;
}

test("kill -9 at random moments while segments are being sealed loses no acknowledged event (30 rounds)", { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const segments = path.join(dir, ".agent-audit", "segments");
  const env = { AAT_SEAL_BYTES: "10000", AAT_SIGNING_KEY: keyFile(dir) };
  const allAcks: Ack[] = [];
  let killedMidway = 0;
  let killedMidSeal = 0;
  for (let round = 0; round < 30; round++) {
    const app = startAppender(trailPath, 600, `r${round}`, round % 2 ? "burst" : "serial", 0, env);
    await app.firstAck;
    // At a random point of the child's appends rather than after a random time: on a loaded
    // machine a time mostly lands in the child's start-up, and few seals happen at all.
    const killAt = 1 + Math.floor(Math.random() * 250);
    let ended = false;
    void app.exited.then(() => (ended = true));
    while (!ended && app.acks.length < killAt) await new Promise((r) => setTimeout(r, 2));
    app.child.kill("SIGKILL");
    const { signal, code, stderr } = await app.exited;
    assert.ok(signal === "SIGKILL" || code === 0, `child failed: ${stderr}`);
    if (signal === "SIGKILL" && app.acks.length < 600) killedMidway++;
    // A seal cut short leaves a temp file or a segment file its trail.db does not list yet.
    const listed = new Set(sqlite3(trailPath, "SELECT file_name FROM seals;").stdout.trim().split("\n"));
    if (fs.existsSync(segments) && fs.readdirSync(segments).some((f) => !listed.has(f))) killedMidSeal++;
    allAcks.push(...app.acks);
    const head = await assertWhole(trailPath, allAcks);
    assert.ok(head >= allAcks.length);
  }
  const { store } = await TrailStore.open(trailPath, { readOnly: true });
  const seals = store.seals.length;
  await store.close();
  console.log(`# ${seals} seals, ${killedMidway} rounds killed mid-run, ${killedMidSeal} of them in the middle of a seal`);
  assert.ok(seals >= 15, `only ${seals} segments were sealed`);
  assert.ok(killedMidway >= 15, `only ${killedMidway} rounds were killed mid-run`);
  assert.ok(killedMidSeal >= 2, `only ${killedMidSeal} kills landed during a seal`);
});

test("two processes appending across seals stay gapless and lose nothing", { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const env = { AAT_SEAL_BYTES: "15000", AAT_SIGNING_KEY: keyFile(dir) };
  (await TrailStore.open(trailPath)).store.close();
  const a = startAppender(trailPath, 800, "a", "serial", 0, env);
  const b = startAppender(trailPath, 800, "b", "burst", 0, env);
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal(new Set([...a.acks, ...b.acks].map((x) => x.seq)).size, 1600, "two events were acknowledged with the same seq");
  // The writer that starts second finds the first one's events not yet signed, so it records
  // where its own key starts vouching: one writer_start event (none if it started first on an empty trail).
  const head = await assertWhole(trailPath, [...a.acks, ...b.acks]);
  assert.ok(head === 1600 || head === 1601, `${head} events`);
  const { store } = await TrailStore.open(trailPath, { readOnly: true });
  assert.ok(store.seals.length >= 5, `sealed ${store.seals.length} segments`);
  await store.close();
});

test("a sealed segment edited with sqlite3 is caught by verify and refused by readers", async (t) => {
  const dir = tempDir(t);
  const { trailPath, store, ids } = await sealedTrail(dir);
  const seal = store.seals[0];
  await store.close();
  const file = path.join(dir, ".agent-audit", "segments", seal.file_name);
  // What someone with the sqlite3 CLI does: drop the guard, change a result, put the guard back.
  const edit = sqlite3(file, `DROP TRIGGER events_no_update;
    UPDATE events SET content = replace(content, 'command exited with code 1', 'command succeeded') WHERE outcome = 'error';
    ${sqlite3(file, "SELECT sql FROM sqlite_master WHERE name = 'events_no_update';").stdout.trim()};`);
  assert.equal(edit.status, 0, edit.stderr);
  const { store: ro } = await TrailStore.open(trailPath, { readOnly: true });
  try {
    const report = verifyTrail(ro.database, { sql: ro.sqlEngine, segmentsDir: ro.segmentsDir });
    assert.equal(report.valid, false);
    const cats = new Set(report.findings.map((f) => f.category));
    assert.ok(cats.has("SEGMENT_ALTERED"), `SEGMENT_ALTERED in ${[...cats]}`);
    assert.ok(cats.has("HASH_MISMATCH"), "and the altered events themselves");
    const reader = new TrailReader(ro);
    assert.throws(() => eventsOfSession(reader.sessionDatabase(ids[0]), ids[0]), /not the segment that was sealed/);
    // The session list still comes from the catalog: the edit does not hide a session.
    assert.equal(reader.listSessions().length, ids.length);
  } finally {
    await ro.close();
  }
});

test("prune: what remains verifies, with PRUNED as information; the pruning is a recorded, signed session", async (t) => {
  const dir = tempDir(t);
  const { trailPath, store, signer } = await sealedTrail(dir);
  const seals = [...store.seals];
  // Nothing sealed before a date in the past: nothing goes.
  assert.equal((await pruneSegments(store, { before: new Date("2000-01-01") })).segments.length, 0);
  const cut = seals[1].sealed_at;
  const r = await pruneSegments(store, { before: new Date(Date.parse(cut) + 1) });
  assert.deepEqual(r.segments.map((s) => s.segment_no), [1, 2]);
  for (const s of r.segments) assert.equal(fs.existsSync(path.join(store.segmentsDir, s.file_name)), false);
  const head = store.head.seq;
  await store.close();
  const { store: ro } = await TrailStore.open(trailPath, { readOnly: true });
  try {
    const report = verifyTrail(ro.database, { sql: ro.sqlEngine, segmentsDir: ro.segmentsDir, trustedKeys: [signer.key] });
    assert.deepEqual(report.findings.filter((f) => f.severity === "error"), []);
    assert.equal(report.valid, true);
    assert.equal(report.authenticated, true);
    assert.equal(report.head.seq, head);
    const pruned = report.findings.find((f) => f.category === "PRUNED")!;
    assert.equal(pruned.severity, "info");
    assert.match(pruned.message, new RegExp(`^PRUNED \\(seq 1–${seals[1].last_seq}, by ${signer.key.fingerprint.slice(0, 16)}…, at 20`));
    const reader = new TrailReader(ro);
    const listed = reader.listSessions();
    const retention = listed.find((s) => s.agent_id === "agent-audit-retention")!;
    assert.ok(listed.every((s) => s.last_seq > seals[1].last_seq), "sessions wholly in pruned segments are no longer listed");
    assert.equal(retention.status, "completed");
    assert.match(retention.task ?? "", /^Prune segments 1, 2 \(seq 1–\d+\)/);
    // A segment removed by hand (not pruned) is an error, not information.
    fs.rmSync(path.join(ro.segmentsDir, seals[2].file_name));
    const again = verifyTrail(ro.database, { sql: ro.sqlEngine, segmentsDir: ro.segmentsDir, trustedKeys: [signer.key] });
    assert.equal(again.valid, false);
    assert.ok(again.findings.some((f) => f.category === "SEGMENT_MISSING" && f.seq === seals[2].first_seq));
  } finally {
    await ro.close();
  }
});

test("archive: segments move with their seals, verify on their own and with the live trail; verify --since starts at a seal", async (t) => {
  const dir = tempDir(t);
  const { trailPath, store, signer } = await sealedTrail(dir);
  const archive = path.join(dir, "archive");
  const r = await pruneSegments(store, { before: new Date(Date.parse(store.seals[0].sealed_at) + 1), archiveTo: archive });
  assert.equal(r.segments.length, 1);
  await store.close();
  assert.ok(fs.existsSync(path.join(archive, "seg-000001.db")) && fs.existsSync(path.join(archive, "seg-000001.seal.json")));
  const { store: ro } = await TrailStore.open(trailPath, { readOnly: true });
  try {
    const together = verifyTrail(ro.database, { sql: ro.sqlEngine, segmentsDir: ro.segmentsDir, archiveDirs: [archive], trustedKeys: [signer.key] });
    assert.equal(together.valid, true);
    assert.equal(together.segments.pruned, 0, "the archived segment is found and walked");
    assert.equal(together.events, ro.head.seq);
    const since = verifyTrail(ro.database, { sql: ro.sqlEngine, segmentsDir: ro.segmentsDir, sinceSeq: ro.seals[2].first_seq + 1, trustedKeys: [signer.key] });
    assert.equal(since.valid, true, JSON.stringify(since.findings));
    assert.equal(since.fromSeq, ro.seals[2].first_seq);
    assert.equal(since.events, ro.head.seq - ro.seals[1].last_seq);
  } finally {
    await ro.close();
  }
  // The archived file alone, through the CLI; then one byte changed in it.
  const config = path.join(dir, "config");
  const ok = await runCli(["verify-segment", path.join(archive, "seg-000001.db")], config);
  assert.equal(ok.code, 3, ok.out); // valid, but signed by a key this config does not trust
  assert.match(ok.out, /Segment 1 valid: seq 1–\d+/);
  const f = path.join(archive, "seg-000001.db");
  const bytes = fs.readFileSync(f);
  const at = bytes.indexOf("lorem ipsum");
  bytes[at] = "L".charCodeAt(0);
  fs.writeFileSync(f, bytes);
  const bad = await runCli(["verify-segment", f], config);
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /SHA-256 differs/);
});

test("migration: a single-file trail of schema 3 opens, is sealed as it is (no event re-hashed), and verifies", async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const signer = ed25519Signer(generateSigningKey());
  const { store } = await TrailStore.open(trailPath, { sealBytes: 0, signer });
  for (let i = 0; i < 4; i++) await appendLinked(store, sessionEvents({ task: `old ${i}`, steps: 10, failures: 1 }));
  await store.close();
  downgradeToSchema3(trailPath);
  const before = sqlite3(trailPath, "SELECT seq, hash FROM events ORDER BY seq;").stdout;
  const { store: opened } = await TrailStore.open(trailPath, { sealBytes: 20_000, signer });
  await opened.flush();
  assert.equal(opened.seals.length, 1, "the old file became the first sealed segment");
  const seg = path.join(opened.segmentsDir, opened.seals[0].file_name);
  assert.equal(sqlite3(seg, "SELECT seq, hash FROM events ORDER BY seq;").stdout, before, "every event as it was");
  await opened.append({ session_id: "new", event_type: "session_start", content: { task: "after the migration" } });
  const head = opened.head.seq;
  await opened.close();
  assert.equal(await assertWhole(trailPath, []), head);
});

test("kill -9 during a migration (many rounds): the trail always opens, with every event", { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const key = keyFile(dir);
  const { store } = await TrailStore.open(trailPath, { sealBytes: 0, signer: ed25519Signer(fs.readFileSync(key, "utf8")) });
  for (let i = 0; i < 20; i++) await appendLinked(store, sessionEvents({ task: `old ${i}`, steps: 20, outputBytes: 2000 }));
  await store.close();
  downgradeToSchema3(trailPath);
  const pristine = path.join(dir, "pristine");
  fs.cpSync(path.join(dir, ".agent-audit"), pristine, { recursive: true });
  const expected = sqlite3(trailPath, "SELECT seq, hash FROM events ORDER BY seq;").stdout;
  let interrupted = 0;
  for (let round = 0; round < 12; round++) {
    fs.rmSync(path.join(dir, ".agent-audit"), { recursive: true, force: true });
    fs.cpSync(pristine, path.join(dir, ".agent-audit"), { recursive: true });
    // The child opens the old trail (migrating it) and appends one event; killed at some point.
    const app = startAppender(trailPath, 1, `m${round}`, "serial", 0, { AAT_SEAL_BYTES: "50000", AAT_SIGNING_KEY: key });
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 500));
    app.child.kill("SIGKILL");
    const { signal } = await app.exited;
    if (signal === "SIGKILL") interrupted++;
    const head = await assertWhole(trailPath, app.acks);
    const { store: ro } = await TrailStore.open(trailPath, { readOnly: true });
    const rows = new TrailReader(ro).eventsBySeq(expected.trim().split("\n").map((l) => Number(l.split("|")[0])));
    assert.equal(rows.map((r) => `${r.seq}|${r.hash}\n`).join(""), expected, `round ${round}: every old event as it was`);
    await ro.close();
    assert.ok(head >= rows.length);
  }
  assert.ok(interrupted >= 4, `only ${interrupted} rounds were killed before the child finished`);
});

/** Turns a trail file into what schema 3 wrote: no segment tables, the old in-order trigger. */
function downgradeToSchema3(file: string): void {
  const r = sqlite3(file, `DROP TABLE seals; DROP TABLE session_catalog; DROP TABLE failure_catalog; DROP TABLE merkle_state; DROP TRIGGER events_insert_in_order;
CREATE TRIGGER events_insert_in_order BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events)
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM events WHERE seq = NEW.seq - 1), '${"0".repeat(64)}')
BEGIN SELECT RAISE(ABORT, 'agent-audit: events are append-only; seq must be the next number and prev_hash the current head hash'); END;
PRAGMA user_version = 3;`);
  assert.equal(r.status, 0, r.stderr);
  fs.rmSync(file.replace(/\.db$/, ".journal"), { force: true });
}

test("the views' source reads a trail across seals: the list, a spanning session's heads and rows, and a reader following a writer through a seal", async (t) => {
  const dir = tempDir(t);
  const { trailPath, store, ids } = await sealedTrail(dir);
  const { store: ro } = await TrailStore.open(trailPath, { readOnly: true });
  const source = new StoreTrailSource("k", "ws", () => ro);
  source.baseline();
  const listed = source.sessions();
  assert.deepEqual(listed.map((s) => s.session_id), [...ids].reverse(), "newest first, each once");
  const spanning = source.session(ids[3])!;
  const heads = source.heads(ids[3]);
  assert.equal(heads.length, spanning.events, "every head, from every segment holding the session");
  assert.deepEqual(source.events(heads.map((h) => h.seq)).map((r) => r.seq), heads.map((h) => h.seq), "whole rows from every segment");
  // The writer appends a long session that crosses a seal; the reader catches up.
  const sealsBefore = store.seals.length;
  const next = sessionEvents({ task: "while you watch", steps: 30, outputBytes: 800 });
  await appendLinked(store, next, 8);
  await store.flush();
  assert.ok(store.seals.length > sealsBefore, "a seal happened while the reader followed");
  await ro.refresh();
  const change = source.update()!;
  assert.equal(change.full, false);
  assert.deepEqual(change.added, [next[0].session_id]);
  const shown = source.session(next[0].session_id)!;
  assert.equal(shown.events, next.length);
  assert.equal(shown.status, "completed");
  assert.equal(source.heads(next[0].session_id).length, next.length);
  await ro.close();
  await store.close();
});

test("every command reads a session across seals: sessions, show, export, failures, diff, evidence, verify", { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const { store, ids, signer } = await sealedTrail(dir);
  const spanning = new TrailReader(store).getSession(ids[3])!;
  await store.close();
  const config = path.join(dir, "config");
  // The trail's key is one the user trusts: a bundle is signed with the user's key and may
  // only vouch for events a trusted key vouches for.
  new TrustStore(config).trust(signer.key.public_key);
  const run = (...args: string[]) => runCli([...args, "--workspace", dir], config);
  const sessions = await run("sessions", "--json");
  assert.equal(sessions.code, 0, sessions.out);
  assert.equal((JSON.parse(sessions.out) as unknown[]).length, ids.length);
  const show = await run("show", ids[3].slice(0, 8), "--json");
  assert.equal((JSON.parse(show.out) as unknown[]).length, spanning.events, "show: the whole spanning session");
  const exported = await run("export", ids[0], "--format", "jsonl");
  assert.equal(exported.out.trim().split("\n").length, sessionEvents({ task: "x", steps: 6, failures: 2 }).length, "export: the oldest session, from the first segment");
  const failures = await run("failures", "--json");
  assert.equal((JSON.parse(failures.out) as unknown[]).length, 2 * ids.length, "failures: every session's, sealed or not");
  const diff = await run("diff", ids[0], ids[5]);
  assert.equal(diff.code, 0, diff.out);
  const evidence = await run("evidence", ids[3], "--out", path.join(dir, "bundle"));
  const verify = await run("verify", "--json");
  const report = JSON.parse(verify.out.slice(0, verify.out.lastIndexOf("}") + 1));
  assert.deepEqual(report.findings.filter((f: { severity: string }) => f.severity === "error"), []);
  assert.equal(report.events, report.head.seq);
  assert.equal(evidence.code, 0, evidence.out);
  const checked = await runCli(["verify-evidence", path.join(dir, "bundle")], config);
  assert.equal(checked.code, 0, checked.out);
});

test("appends go on while a seal's worker writes the segment: they are acknowledged meanwhile and carried into the next segment, whole", async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const signer = ed25519Signer(generateSigningKey());
  const logs: string[] = [];
  const { store } = await TrailStore.open(trailPath, { ...SMALL, signer, log: (m) => logs.push(m) });
  // A caller awaiting each append, as a running agent does, without pause.
  const acks: { seq: number; hash: string }[] = [];
  for (const events of [0, 1, 2, 3].map((i) => sessionEvents({ task: `t${i}`, steps: 12, failures: 1, outputBytes: 800 }))) {
    for (const e of await appendLinked(store, events, 1)) acks.push({ seq: e.seq, hash: e.hash });
  }
  await store.flush();
  const carried = logs.map((l) => / \((\d+) events appended meanwhile carried/.exec(l)?.[1]).filter(Boolean).map(Number);
  assert.ok(store.seals.length >= 2, `sealed ${store.seals.length}`);
  assert.ok(carried.some((n) => n > 0), `events were acknowledged while a seal was being written: ${logs.filter((l) => l.includes("sealed")).join(" | ")}`);
  const head = store.head;
  await store.close();
  // Without our code: every acknowledged event is in a segment or trail.db, as acknowledged.
  const files = [...fs.readdirSync(path.join(dir, ".agent-audit", "segments")).filter((f) => f.endsWith(".db")).map((f) => path.join(dir, ".agent-audit", "segments", f)), trailPath];
  const stored = new Map<number, string>();
  for (const f of files) {
    for (const line of sqlite3(f, "SELECT seq || '|' || hash FROM events;").stdout.trim().split("\n").filter(Boolean)) {
      const [seq, hash] = line.split("|");
      assert.ok(!stored.has(Number(seq)), `seq ${seq} is in two files`);
      stored.set(Number(seq), hash);
    }
  }
  for (const a of acks) assert.equal(stored.get(a.seq), a.hash, `seq ${a.seq}`);
  assert.equal(stored.size, head.seq);
  // The whole trail verifies, and every session reads whole.
  const { store: ro } = await TrailStore.open(trailPath, { readOnly: true });
  try {
    const report = verifyTrail(ro.database, { sql: ro.sqlEngine, segmentsDir: ro.segmentsDir, trustedKeys: [signer.key] });
    assert.deepEqual(report.findings.filter((f) => f.severity === "error"), []);
    assert.equal(report.events, head.seq);
    const reader = new TrailReader(ro);
    for (const s of reader.listSessions()) assert.equal(eventsOfSession(reader.sessionDatabase(s.session_id), s.session_id).length, s.events);
    reader.release();
  } finally {
    await ro.close();
  }
});

test("under a burst the active segment stays within a third more than the seal size: appends wait for the seal past that", async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const sealBytes = 60_000;
  const { store } = await TrailStore.open(trailPath, { sealBytes });
  let biggest = 0;
  for (let i = 0; i < 30; i++) {
    // Eight events per commit, without pause: far faster than a seal's worker.
    await appendLinked(store, sessionEvents({ task: `burst ${i}`, steps: 10, failures: 1, outputBytes: 900 }), 8);
    biggest = Math.max(biggest, store.activeSegmentBytes);
  }
  await store.flush();
  assert.ok(store.seals.length >= 3, `sealed ${store.seals.length}`);
  const size = (f: string) => Number(sqlite3(f, "SELECT (SELECT coalesce(sum(length(content)), 0) FROM events) + (SELECT coalesce(sum(length(body)), 0) FROM blobs);").stdout.trim());
  // One commit (eight events of ~1 KB and their records) may cross the limit.
  const limit = (sealBytes * 4) / 3 + 12_000;
  assert.ok(biggest <= limit, `the active segment reached ${biggest} bytes`);
  for (const s of store.seals) {
    const bytes = size(path.join(store.segmentsDir, s.file_name));
    assert.ok(bytes <= limit, `segment ${s.segment_no} holds ${bytes} bytes`);
  }
  await store.close();
});
