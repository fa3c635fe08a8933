// The forged-trail attack of issue #10, done as a forger would: the sqlite3 CLI, sha256sum and
// the recipe docs/trail-format.md publishes (test/attacks/rehash.sh), no code of this project.
// The trail is written by `agent-audit run` (so this user's pin and anchor exist); every
// variant must be a finding, and a stranger's verifier must never call a forgery "authenticated".
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { checkpointPayload, ed25519Signer, generateSigningKey } from "../../src/trail/signing";
import type { VerifyReport } from "../../src/trail/verifyTrail";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { sqlite3 } from "../helpers/sqliteCli";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

const REPO = path.resolve(__dirname, "..", "..", "..");
const REHASH = path.join(REPO, "test", "attacks", "rehash.sh");
type T = Parameters<typeof tempDir>[0];

const cli = runCli;

async function verify(ws: string, config: string, extra: string[] = []): Promise<{ code: number | null; report: VerifyReport; out: string }> {
  const r = await cli(["verify", "--workspace", ws, "--json", ...extra], config);
  let report: VerifyReport;
  try {
    report = JSON.parse(r.out.slice(0, r.out.lastIndexOf("}") + 1));
  } catch {
    throw new Error(`verify printed no report (exit ${r.code}): ${r.out}`);
  }
  return { ...r, report };
}

const categories = (r: VerifyReport) => [...new Set(r.findings.filter((f) => f.severity === "error").map((f) => f.category))].sort();

/** A session written by `agent-audit run` in a fresh workspace: one failed command among its steps. */
async function recordedWorkspace(t: T, config: string, task = "Check the build"): Promise<string> {
  const ws = tempDir(t, "aat-forge-ws-");
  fs.writeFileSync(path.join(ws, "README.md"), "# demo\n");
  const server = new FakeAnthropicServer({
    turns: [
      { content: [{ type: "tool_use", name: "list_directory", input: { path: "." } }] },
      { content: [{ type: "tool_use", name: "run_command", input: { command: "echo tests failing >&2; exit 4" } }] },
      { content: [{ type: "text", text: "The build fails." }] },
    ],
  });
  const url = await server.start();
  try {
    const r = await cli(["run", task, "--workspace", ws, "--approve", "all"], config, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url });
    assert.equal(r.code, 0, r.out);
  } finally {
    await server.stop();
  }
  return ws;
}

/** sqlite3 with every trigger dropped for `sql`, then re-created exactly as they were. */
function withoutTriggers(db: string, sql: string): void {
  const triggers = sqlite3(db, "SELECT sql || ';' FROM sqlite_master WHERE type = 'trigger';").stdout;
  const names = sqlite3(db, "SELECT name FROM sqlite_master WHERE type = 'trigger';").stdout.trim().split("\n");
  const drop = sqlite3(db, names.map((n) => `DROP TRIGGER ${n};`).join("\n"));
  assert.equal(drop.status, 0, drop.stderr);
  const run = sqlite3(db, sql);
  assert.equal(run.status, 0, run.stderr);
  const again = sqlite3(db, triggers);
  assert.equal(again.status, 0, again.stderr);
}

/** The attack: the failed command now reads as a success, every hash recomputed, the journal gone. */
function forge(ws: string, opts: { newTrailId?: boolean; dropSignatures?: boolean; resign?: boolean }): void {
  const db = path.join(ws, ".agent-audit", "trail.db");
  const trailId = sqlite3(db, "SELECT value FROM meta WHERE key = 'trail_id';").stdout.trim();
  const names = sqlite3(db, "SELECT name FROM sqlite_master WHERE type = 'trigger';").stdout.trim().split("\n");
  const triggers = sqlite3(db, "SELECT sql || ';' FROM sqlite_master WHERE type = 'trigger';").stdout;
  assert.equal(sqlite3(db, names.map((n) => `DROP TRIGGER ${n};`).join("\n")).status, 0);
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
  assert.equal(sqlite3(db, triggers).status, 0);
  fs.rmSync(path.join(ws, ".agent-audit", "trail.journal"), { force: true });
  assert.equal(sqlite3(db, "SELECT count(*) FROM events WHERE event_type = 'tool_result' AND outcome = 'error';").stdout.trim(), "0", "the failure is gone from the file");
}

test("the forged-trail attack (sqlite3 + sha256sum only) is a finding, whatever the forger does about ids, checkpoints and keys", { timeout: 240_000 }, async (t) => {
  const config = tempDir(t, "aat-forge-cfg-");
  const variants: [string, Parameters<typeof forge>[1]][] = [
    ["new trail id, checkpoints and keys deleted, journal deleted (the issue's recipe)", { newTrailId: true, dropSignatures: true }],
    ["same trail id, checkpoints and keys deleted", { dropSignatures: true }],
    ["same trail id, re-signed with a fresh key", { resign: true }],
    ["new trail id, re-signed with a fresh key", { newTrailId: true, resign: true }],
  ];
  let tries = 0;
  for (const [name, opts] of variants) {
    const ws = await recordedWorkspace(t, config);
    const clean = await verify(ws, config);
    assert.equal(clean.code, 0, `${name}: the genuine trail: ${clean.out}`);
    assert.equal(clean.report.authenticated, true);
    forge(ws, opts);
    tries++;
    const v = await verify(ws, config);
    assert.equal(v.code, 1, `${name}: ${v.out}`);
    assert.equal(v.report.valid, false);
    assert.ok(categories(v.report).some((c) => ["TRAIL_REPLACED", "ROLLBACK", "CHECKPOINTS_REMOVED", "KEY_UNKNOWN"].includes(c)), `${name}: ${categories(v.report)}`);
    // A verifier with no trust root at all (another user, another machine) is not fooled into green either.
    const stranger = await verify(ws, tempDir(t, "aat-stranger-"));
    assert.equal(stranger.code, 3, `${name}, stranger: ${stranger.out}`);
    assert.equal(stranger.report.authenticated, false);
    assert.match((await cli(["verify", "--workspace", ws], tempDir(t, "aat-stranger-"))).out, /consistent, but not authenticated/);
    assert.equal((await cli(["verify", "--workspace", ws, "--strict"], tempDir(t, "aat-stranger-"))).code, 1);
    // The writer refuses to sign on top of it (it would launder the forgery with the user's key).
    const refused = await cli(["checkpoint", "--workspace", ws], config);
    if (opts.newTrailId || opts.dropSignatures || opts.resign) {
      assert.equal(refused.code, 2, `${name}: checkpoint signed a forged history: ${refused.out}`);
      assert.match(refused.out, /not the trail you last used here.*Nothing was written/);
    }
  }
  t.diagnostic(`forgery variants tried: ${tries}, accepted as valid: 0`);
});

test("replacing the folder with another genuine trail, restoring an older copy, editing a view or a generated column: each a finding", { timeout: 240_000 }, async (t) => {
  const config = tempDir(t, "aat-forge-cfg-");
  // Another genuine trail of the same user moved into place.
  const ws = await recordedWorkspace(t, config);
  const other = await recordedWorkspace(t, config, "Another task");
  assert.equal((await verify(ws, config)).code, 0);
  fs.rmSync(path.join(ws, ".agent-audit"), { recursive: true });
  fs.cpSync(path.join(other, ".agent-audit"), path.join(ws, ".agent-audit"), { recursive: true });
  assert.deepEqual(categories((await verify(ws, config)).report), ["TRAIL_REPLACED"]);

  // An older copy restored after more sessions.
  const ws2 = await recordedWorkspace(t, config);
  const older = tempDir(t, "aat-older-");
  fs.cpSync(path.join(ws2, ".agent-audit"), older, { recursive: true });
  const server = new FakeAnthropicServer({ turns: [{ content: [{ type: "text", text: "more" }] }] });
  const url = await server.start();
  assert.equal((await cli(["run", "More work", "--workspace", ws2, "--approve", "all"], config, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url })).code, 0);
  await server.stop();
  assert.equal((await verify(ws2, config)).code, 0);
  fs.rmSync(path.join(ws2, ".agent-audit"), { recursive: true });
  fs.cpSync(older, path.join(ws2, ".agent-audit"), { recursive: true });
  const restored = await verify(ws2, config);
  assert.equal(restored.code, 1, restored.out);
  assert.ok(categories(restored.report).includes("TRUNCATED"), String(categories(restored.report)));

  // A view that hides failures; a generated column that says every result succeeded.
  const ws3 = await recordedWorkspace(t, config);
  const db = path.join(ws3, ".agent-audit", "trail.db");
  const view = sqlite3(db, "SELECT sql FROM sqlite_master WHERE name = 'sessions';").stdout.trim();
  withoutTriggers(db, `DROP VIEW sessions; ${view.replace("count(CASE WHEN event_type = 'tool_result' AND outcome = 'error' THEN 1 END) AS failed_tool_calls", "0 AS failed_tool_calls")};`);
  assert.equal(sqlite3(db, "SELECT failed_tool_calls FROM sessions;").stdout.trim(), "0", "the edited view hides the failure");
  const viewed = await verify(ws3, config);
  assert.equal(viewed.code, 1);
  assert.ok(viewed.report.findings.some((f) => f.category === "SCHEMA_ALTERED" && /view sessions/.test(f.message)), viewed.out);
  const listed = await cli(["sessions", "--workspace", ws3], config);
  assert.equal(listed.code, 2, "the CLI ran a view from an edited schema");
  assert.match(listed.out, /schema was edited \(view sessions \(altered\)\)/);

  const ws4 = await recordedWorkspace(t, config);
  const db4 = path.join(ws4, ".agent-audit", "trail.db");
  const gen = sqlite3(db4, `PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'json_extract(content, ''$.outcome'')', '''success''') WHERE name = 'events'; PRAGMA writable_schema = OFF;`);
  assert.equal(sqlite3(db4, "REINDEX;").status, 0, "the forger rebuilds the indexes over the edited column");
  assert.equal(gen.status, 0, gen.stderr);
  assert.equal(sqlite3(db4, "SELECT count(*) FROM events WHERE outcome = 'error';").stdout.trim(), "0", "the edited column hides the failure");
  const column = await verify(ws4, config);
  assert.equal(column.code, 1, column.out);
  assert.ok(column.report.findings.some((f) => f.category === "SCHEMA_ALTERED" && /table events/.test(f.message)), column.out);
});
