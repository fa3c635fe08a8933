// The forged-trail attack of issue #10, done as a forger would: the sqlite3 CLI, sha256sum and
// the recipe docs/trail-format.md publishes (test/attacks/rehash.sh), no code of this project.
// The trail is written by `agent-audit run` (so this user's pin and anchor exist); every
// variant must be a finding, and a stranger's verifier must never call a forgery "authenticated".
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import type { VerifyReport } from "../../src/trail/integrity/verifyTrail";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { sqlite3 } from "../helpers/sqliteCli";
import { editGeneratedColumn, editSessionsView, forge } from "../attacks/forgeTrail";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

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
  editSessionsView(db);
  assert.equal(sqlite3(db, "SELECT failed_tool_calls FROM sessions;").stdout.trim(), "0", "the edited view hides the failure");
  const viewed = await verify(ws3, config);
  assert.equal(viewed.code, 1);
  assert.ok(viewed.report.findings.some((f) => f.category === "SCHEMA_ALTERED" && /view sessions/.test(f.message)), viewed.out);
  const listed = await cli(["sessions", "--workspace", ws3], config);
  assert.equal(listed.code, 2, "the CLI ran a view from an edited schema");
  assert.match(listed.out, /schema was edited \(view sessions \(altered\)\)/);

  const ws4 = await recordedWorkspace(t, config);
  const db4 = path.join(ws4, ".agent-audit", "trail.db");
  editGeneratedColumn(db4);
  assert.equal(sqlite3(db4, "SELECT count(*) FROM events WHERE outcome = 'error';").stdout.trim(), "0", "the edited column hides the failure");
  const column = await verify(ws4, config);
  assert.equal(column.code, 1, column.out);
  assert.ok(column.report.findings.some((f) => f.category === "SCHEMA_ALTERED" && /table events/.test(f.message)), column.out);
});
