// Writers (run, replay, retry, checkpoint, prune, archive) on a trail that verify calls INVALID:
// each refuses with one line that names the finding and how to go on, and writes nothing;
// the user can accept the findings explicitly (recorded, signed), and only then go on.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";
import { filePinKeeper } from "../../src/trail/trust/pinKeeper";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { runCli } from "../helpers/cliRunner";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";
import { withoutTriggers } from "./forgeTrail";

const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** The user's session with a failed command, written by `agent-audit run`. */
async function recorded(ws: string, config: string): Promise<string> {
  const server = new FakeAnthropicServer({
    turns: [
      { content: [{ type: "tool_use", name: "run_command", input: { command: "echo tests failing >&2; exit 4" } }] },
      { content: [{ type: "text", text: "The tests fail." }] },
    ],
  });
  const url = await server.start();
  try {
    const r = await runCli(["run", "Run the tests", "--workspace", ws, "--approve", "all"], config, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url });
    assert.equal(r.code, 0, r.out);
  } finally {
    await server.stop();
  }
  const s = await runCli(["sessions", "--workspace", ws, "--json"], config);
  return (JSON.parse(s.out) as { session_id: string }[])[0].session_id;
}

test("replay, run, retry and checkpoint refuse a tampered trail (an event edited, hashes left as they were) with one line, and write nothing", { timeout: 180_000 }, async (t) => {
  const ws = tempDir(t, "aat-gate-ws-");
  const config = tempDir(t, "aat-gate-cfg-");
  const session = await recorded(ws, config);
  const db = path.join(ws, ".agent-audit", "trail.db");
  const callId = sqlite3(db, "SELECT event_id FROM events WHERE event_type = 'tool_call' LIMIT 1;").stdout.trim();
  withoutTriggers(db, `UPDATE events SET content = replace(content, 'tests failing', 'tests passing') WHERE event_type = 'tool_result';`);
  const v = await runCli(["verify", "--workspace", ws], config);
  assert.equal(v.code, 1, v.out);
  assert.match(v.out, /HASH_MISMATCH/);
  const bytes = sha(db);
  const events = sqlite3(db, "SELECT count(*) FROM events;").stdout.trim();

  const server = new FakeAnthropicServer({ turns: [{ content: [{ type: "text", text: "hi" }] }] });
  const url = await server.start();
  t.after(() => server.stop());
  const env = { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url };
  for (const args of [["replay", session, "--approve", "all"], ["run", "More work", "--approve", "all"], ["retry", callId, "--approve", "all"], ["checkpoint"]]) {
    const r = await runCli([...args, "--workspace", ws], config, env);
    assert.equal(r.code, 2, `${args[0]} went on on a tampered trail: ${r.out}`);
    const lines = r.out.trim().split("\n");
    assert.equal(lines.length, 1, `${args[0]}: one line, got: ${r.out}`);
    assert.match(lines[0], new RegExp(`^agent-audit ${args[0]}: .*HASH_MISMATCH at seq \\d+.*Nothing was written.*agent-audit verify.*move .* aside.*agent-audit trust accept`), r.out);
    assert.equal(sha(db), bytes, `${args[0]} changed trail.db`);
    assert.equal(sqlite3(db, "SELECT count(*) FROM events;").stdout.trim(), events);
  }
});

test("prune refuses a trail with a TRUNCATED finding (sealed segments stay); after 'trust accept' it goes on, and verify still reports the finding", { timeout: 180_000 }, async (t) => {
  const ws = tempDir(t, "aat-gate-ws-");
  const config = tempDir(t, "aat-gate-cfg-");
  const trust = new TrustStore(config);
  const trailPath = path.join(ws, ".agent-audit", "trail.db");
  // The user's own trail, with sealed segments (small ones, so the test is quick).
  const { store } = await TrailStore.open(trailPath, { signer: trust.signer(), anchorDir: trust.anchorsDir, pins: filePinKeeper(trust.pins), sealBytes: 40_000, checkpointEvery: 20 });
  for (let i = 0; i < 5; i++) {
    await appendLinked(store, sessionEvents({ task: `task ${i}`, steps: 6, failures: 1, outputBytes: 800 }), 8);
    await store.flush();
  }
  const seals = store.seals.length;
  await store.close();
  assert.ok(seals >= 2, `sealed segments: ${seals}`);
  const segments = () => fs.readdirSync(path.join(ws, ".agent-audit", "segments")).filter((f) => f.endsWith(".db")).length;
  const files = segments();
  // The newest events removed from the file (and the journal): the trail's checkpoints and the
  // user's anchor know more than it has.
  withoutTriggers(trailPath, "DELETE FROM events WHERE seq > (SELECT max(seq) - 3 FROM events);");
  fs.rmSync(path.join(ws, ".agent-audit", "trail.journal"), { force: true });
  trust.pins.forget(trailPath); // a new machine, or a pin forgotten: only the trail and the anchor tell
  const v = await runCli(["verify", "--workspace", ws], config);
  assert.equal(v.code, 1, v.out);
  assert.match(v.out, /TRUNCATED/);

  const r = await runCli(["prune", "--before", "2999-01-01", "--workspace", ws], config);
  assert.equal(r.code, 2, `prune went on on a truncated trail: ${r.out}`);
  assert.equal(r.out.trim().split("\n").length, 1, r.out);
  assert.match(r.out, /^agent-audit prune: .*TRUNCATED.*Nothing was written.*agent-audit trust accept/);
  assert.equal(segments(), files, "prune deleted sealed segments of a truncated trail");

  const accepted = await runCli(["trust", "accept", "--workspace", ws], config);
  assert.equal(accepted.code, 0, accepted.out);
  assert.match(accepted.out, /Accepted 1 finding|Accepted \d+ findings/);
  const pruned = await runCli(["prune", "--before", "2999-01-01", "--workspace", ws], config);
  assert.equal(pruned.code, 0, pruned.out);
  assert.ok(segments() < files, "after accepting, prune goes on");
  const still = await runCli(["verify", "--workspace", ws], config);
  assert.equal(still.code, 1, `accepting a finding must not hide it: ${still.out}`);
  assert.match(still.out, /accepted/);
  // Accepting is for what was there: a new edit (here, of the signed acceptance itself) is refused again.
  withoutTriggers(trailPath, `UPDATE events SET content = replace(content, 'TRUNCATED', 'NOTHING') WHERE event_type = 'findings_accepted';`);
  const again = await runCli(["checkpoint", "--workspace", ws], config);
  assert.equal(again.code, 2, again.out);
  assert.match(again.out, /HASH_MISMATCH/);
});
