// A repository ships a forged history (edited with sqlite3, re-hashed with the published recipe,
// checkpoints and keys removed or re-signed by the forger). The user then runs one session
// there: the user's key must vouch only for what the user's tools appended, never for what they
// inherited. verify says per range who vouches, and an unvouched range is exit 3; no evidence
// bundle signed by the user's key is made of the forged events.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";
import { spawnSync } from "node:child_process";
import { sqlite3 } from "../helpers/sqliteCli";
import { dropTriggers, forge } from "./forgeTrail";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";
import { filePinKeeper } from "../../src/trail/trust/pinKeeper";
import { writerGate } from "../../src/trail/store/writerGate";
import { appendLinked, sessionEvents } from "../helpers/bigSession";

type T = Parameters<typeof tempDir>[0];
interface Range { from: number; to: number; vouched: boolean; who: string }
interface Report { valid: boolean; authenticated: boolean; head: { seq: number }; provenance?: Range[] }

const FIXTURE = path.resolve(__dirname, "..", "..", "..", "test", "fixtures", "legacy-trail");

/** `agent-audit run` against a fake Anthropic server; one tool call, then an answer. */
async function runSession(ws: string, config: string, task: string, command = "echo ok"): Promise<void> {
  const server = new FakeAnthropicServer({
    turns: [
      { content: [{ type: "tool_use", name: "run_command", input: { command } }] },
      { content: [{ type: "text", text: "Done." }] },
    ],
  });
  const url = await server.start();
  try {
    const r = await runCli(["run", task, "--workspace", ws, "--approve", "all"], config, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url });
    assert.equal(r.code, 0, r.out);
  } finally {
    await server.stop();
  }
}

async function verifyJson(ws: string, config: string): Promise<{ code: number | null; report: Report; out: string }> {
  const r = await runCli(["verify", "--workspace", ws, "--json"], config);
  try {
    return { ...r, report: JSON.parse(r.out.slice(0, r.out.lastIndexOf("}") + 1)) as Report };
  } catch {
    throw new Error(`verify printed no report (exit ${r.code}): ${r.out}`);
  }
}

async function sessionIds(ws: string, config: string): Promise<string[]> {
  const r = await runCli(["sessions", "--workspace", ws, "--json"], config);
  assert.equal(r.code, 0, r.out);
  return (JSON.parse(r.out) as { session_id: string }[]).map((s) => s.session_id);
}

/** A repository as a forger ships it: a session whose failed command now reads as a success. */
async function forgedRepository(t: T, how: Parameters<typeof forge>[1]): Promise<{ ws: string; forgedSession: string; forgedHead: number }> {
  const ws = tempDir(t, "aat-forged-ws-");
  const forger = tempDir(t, "aat-forger-cfg-");
  await runSession(ws, forger, "Run the tests", "echo tests failing >&2; exit 4");
  forge(ws, how);
  const [forgedSession] = await sessionIds(ws, forger);
  const forgedHead = (await verifyJson(ws, tempDir(t, "aat-look-"))).report.head.seq;
  return { ws, forgedSession, forgedHead };
}

test("a forged history stays 'not authenticated' (exit 3) after the user runs a session on it; verify names who vouches for each range", { timeout: 240_000 }, async (t) => {
  for (const [name, how, inherited] of [
    ["checkpoints and keys removed", { dropSignatures: true }, /seq 1–(\d+): unsigned/],
    ["re-signed with the forger's key", { resign: true }, /seq 1–(\d+): signed by an unknown key/],
  ] as const) {
    const { ws, forgedSession, forgedHead } = await forgedRepository(t, how);
    const user = tempDir(t, "aat-user-cfg-");
    const before = await verifyJson(ws, user);
    assert.equal(before.code, 3, `${name}: before the user's session: ${before.out}`);

    await runSession(ws, user, "Review the repository");
    const after = await verifyJson(ws, user);
    assert.equal(after.code, 3, `${name}: the user's checkpoint vouched for the forged history: ${after.out}`);
    assert.equal(after.report.valid, true);
    assert.equal(after.report.authenticated, false);
    const ranges = after.report.provenance ?? [];
    assert.deepEqual(ranges.map((r) => [r.from, r.to, r.vouched]), [[1, forgedHead, false], [forgedHead + 1, after.report.head.seq, true]], `${name}: ${JSON.stringify(ranges)}`);

    const text = await runCli(["verify", "--workspace", ws], user);
    assert.equal(text.code, 3, text.out);
    assert.match(text.out, inherited, `${name}: ${text.out}`);
    assert.equal(inherited.exec(text.out)![1], String(forgedHead));
    assert.match(text.out, new RegExp(`seq ${forgedHead + 1}–${after.report.head.seq}: yours \\(key [0-9a-f]{16}…\\)`), text.out);

    // No bundle signed with the user's key is made of the forged session.
    const bundle = path.join(tempDir(t, "aat-bundle-"), "forged");
    const ev = await runCli(["evidence", forgedSession, "--workspace", ws, "--out", bundle], user);
    assert.notEqual(ev.code, 0, `${name}: the forged session was exported as evidence signed by the user: ${ev.out}`);
    assert.match(ev.out, /not vouched for/);
    assert.notEqual((await runCli(["verify-evidence", bundle], user)).code, 0);
    // The user's own session still makes evidence that verifies.
    const own = (await sessionIds(ws, user)).find((s) => s !== forgedSession)!;
    const ownBundle = path.join(tempDir(t, "aat-bundle-"), "own");
    const ok = await runCli(["evidence", own, "--workspace", ws, "--out", ownBundle], user);
    assert.equal(ok.code, 0, ok.out);
    assert.equal((await runCli(["verify-evidence", ownBundle], user)).code, 0);
  }
});

test("'agent-audit checkpoint' on a forged history signs only from where the user's writer started", { timeout: 120_000 }, async (t) => {
  const { ws, forgedHead } = await forgedRepository(t, { dropSignatures: true, newTrailId: true });
  const user = tempDir(t, "aat-user-cfg-");
  const signed = await runCli(["checkpoint", "--workspace", ws], user);
  assert.equal(signed.code, 0, signed.out);
  const v = await verifyJson(ws, user);
  assert.equal(v.code, 3, `the user's checkpoint vouched for the forged history: ${v.out}`);
  assert.deepEqual((v.report.provenance ?? []).filter((r) => !r.vouched).map((r) => [r.from, r.to]), [[1, forgedHead]]);
  // A second session of the user's continues the user's range; the forged one stays unvouched.
  await runSession(ws, user, "More work");
  const again = await verifyJson(ws, user);
  assert.equal(again.code, 3, again.out);
  assert.deepEqual((again.report.provenance ?? []).map((r) => [r.from, r.to, r.vouched]), [[1, forgedHead, false], [forgedHead + 1, again.report.head.seq, true]]);
});

test("a trail written by an older version (no writer records) still verifies valid and authenticated, before and after a new session", { timeout: 120_000 }, async (t) => {
  const ws = tempDir(t, "aat-legacy-ws-");
  const user = tempDir(t, "aat-legacy-cfg-");
  fs.mkdirSync(path.join(ws, ".agent-audit"));
  fs.copyFileSync(path.join(FIXTURE, "trail.db"), path.join(ws, ".agent-audit", "trail.db"));
  fs.copyFileSync(path.join(FIXTURE, "signing-key.pem"), path.join(user, "signing-key.pem"));
  fs.chmodSync(path.join(user, "signing-key.pem"), 0o600);
  const v = await verifyJson(ws, user);
  assert.equal(v.code, 0, v.out);
  assert.deepEqual((v.report.provenance ?? []).map((r) => [r.from, r.to, r.vouched, r.who.split(" ")[0]]), [[1, 12, true, "yours"]]);
  await runSession(ws, user, "A session with the new version");
  const after = await verifyJson(ws, user);
  assert.equal(after.code, 0, after.out);
  assert.ok((after.report.provenance ?? []).length > 0 && after.report.provenance!.every((r) => r.vouched), JSON.stringify(after.report.provenance));
  assert.equal(after.report.provenance!.at(-1)!.to, after.report.head.seq);
});

test("events slipped in after the user's last checkpoint are not vouched for by the user's next session", { timeout: 120_000 }, async (t) => {
  const ws = tempDir(t, "aat-tail-ws-");
  const user = tempDir(t, "aat-user-cfg-");
  await runSession(ws, user, "Deploy the site");
  const db = path.join(ws, ".agent-audit", "trail.db");
  const [session, head] = sqlite3(db, "SELECT session_id, max(seq) FROM events;").stdout.trim().split("|");
  // An approval the user never gave, appended to the user's session and chained with the published recipe.
  const restore = dropTriggers(db);
  const inserted = sqlite3(db, `INSERT INTO events (seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number, content, prev_hash, hash)
    VALUES (${Number(head) + 1}, 'forged-approval', '${session}', 'agent-audit-trail', '', '2026-01-01T00:00:00.000Z', 'approval', 1, '{"approved":true,"approver":"alice","tool_name":"run_command"}', '', '');`);
  assert.equal(inserted.status, 0, inserted.stderr);
  const rehash = spawnSync("bash", [path.resolve(__dirname, "..", "..", "..", "test", "attacks", "rehash.sh"), db], { encoding: "utf8" });
  assert.equal(rehash.status, 0, rehash.stderr);
  restore();
  const slipped = await verifyJson(ws, user);
  assert.equal(slipped.report.valid, true, slipped.out);

  await runSession(ws, user, "Check the deploy");
  const v = await verifyJson(ws, user);
  assert.equal(v.code, 3, `the user's next checkpoint vouched for an event the user's tools never wrote: ${v.out}`);
  assert.deepEqual((v.report.provenance ?? []).filter((r) => !r.vouched).map((r) => [r.from, r.to]), [[Number(head) + 1, Number(head) + 1]]);
  const text = await runCli(["verify", "--workspace", ws], user);
  assert.match(text.out, new RegExp(`seq ${Number(head) + 1}–${Number(head) + 1}: unsigned`), text.out);
});

test("a segment the user's writer sealed over a forged history does not verify as the user's on its own (verify-segment exit 3)", { timeout: 120_000 }, async (t) => {
  const ws = tempDir(t, "aat-seg-ws-");
  const trailPath = path.join(ws, ".agent-audit", "trail.db");
  const forger = new TrustStore(tempDir(t, "aat-forger-cfg-"));
  const { store: forged } = await TrailStore.open(trailPath, { signer: forger.signer(), sealBytes: 0 });
  await appendLinked(forged, sessionEvents({ task: "Run the tests", steps: 6, failures: 1, outputBytes: 800 }), 8);
  await forged.close();
  forge(ws, { dropSignatures: true });
  const forgedHead = Number(sqlite3(trailPath, "SELECT max(seq) FROM events;").stdout.trim());

  // The user's writer (as the CLI opens it, with small segments) appends sessions and seals.
  const config = tempDir(t, "aat-user-cfg-");
  const trust = new TrustStore(config);
  const { store } = await TrailStore.open(trailPath, { signer: trust.signer(), anchorDir: trust.anchorsDir, pins: filePinKeeper(trust.pins), gate: writerGate(trust), sealBytes: 40_000, checkpointEvery: 20 });
  for (let i = 0; i < 4; i++) {
    await appendLinked(store, sessionEvents({ task: `user task ${i}`, steps: 6, outputBytes: 800 }), 8);
    await store.flush();
  }
  assert.ok(store.seals.length >= 1 && store.seals[0].last_seq > forgedHead, `seals: ${JSON.stringify(store.seals.map((s) => s.last_seq))}`);
  await store.close();
  const archive = tempDir(t, "aat-archive-");
  const moved = await runCli(["archive", "--before", "2999-01-01", "--to", archive, "--workspace", ws], config);
  assert.equal(moved.code, 0, moved.out);
  const seg = await runCli(["verify-segment", path.join(archive, "seg-000001.db")], config);
  assert.equal(seg.code, 3, `a seal by the user's key vouched for the forged history: ${seg.out}`);
  assert.match(seg.out, new RegExp(`seq 1–${forgedHead}: unsigned`), seg.out);
});
