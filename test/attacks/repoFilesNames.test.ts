// A cloned repository's trail chooses every field of itself: its trail id and its seals'
// file names become paths on the user's disk only after they are checked, and prune/archive
// act only on segments this user's trusted keys sealed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { sqlite3 } from "../helpers/sqliteCli";
import { withoutTriggers } from "./forgeTrail";
import { assertOneClearLine, cliBounded, fingerprint, foreignTrail, ownSealedTrail, scene, trailDir } from "./repoFixtures";

test("a trail id with ../ never becomes a path: run, checkpoint and verify refuse the trail and the victim *.json is untouched", async (t) => {
  const s = scene(t);
  const { trailPath } = await foreignTrail(s.ws, { signer: "none" });
  // anchors/<trail_id>.json with this id is the user's ~/.config/victim.json.
  withoutTriggers(trailPath, "UPDATE meta SET value = '../../victim' WHERE key = 'trail_id';");
  fs.rmSync(path.join(trailDir(s.ws), "trail.journal"));
  const victim = path.join(s.config, "..", "victim.json");
  fs.writeFileSync(victim, '{ "precious": true }\n');
  const server = new FakeAnthropicServer({ turns: [{ content: [{ type: "text", text: "Nothing to do." }] }] });
  const url = await server.start();
  t.after(() => server.stop());
  const env = { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: url };
  for (const args of [["checkpoint"], ["run", "Look around", "--approve", "none"], ["verify"], ["sessions"]]) {
    const r = await cliBounded([...args, "--workspace", s.ws], s, { env });
    assert.equal(r.code, 2, `${args[0]}: ${r.out}`);
    assertOneClearLine(r.out, /trail id "\.\.\/\.\.\/victim" is not one Agent Audit makes/);
    assert.equal(fs.readFileSync(victim, "utf8"), '{ "precious": true }\n', `${args[0]} left the victim file alone`);
  }
  assert.deepEqual(fs.readdirSync(s.config).filter((f) => f !== "signing-key.pem"), [], "nothing was written to the trust store for that trail");
});

/**
 * Two guards stand between an edited seal and the disk: the writer gate refuses the trail as
 * a whole (its finding named, nothing written); once the user accepts the findings, retention
 * itself still acts only on seals it can trust. Both are checked: the refusal, then the run
 * after `trust accept`, whose output is returned.
 */
async function gatedThenAccepted(s: ReturnType<typeof scene>, args: string[]): Promise<{ code: number | null; out: string }> {
  const ws = args[args.indexOf("--workspace") + 1];
  const first = await cliBounded(args, s);
  if (first.code === 2) {
    assertOneClearLine(first.out, /has a finding: SEGMENT_ALTERED .*Nothing was written/);
    const accept = await cliBounded(["trust", "accept", "--workspace", ws], s);
    // A seal naming a path outside segments/ cannot even be accepted: that refusal is the answer.
    if (accept.code === 2) {
      assertOneClearLine(accept.out, /is not one the store makes .*Nothing was read from or written to that path/);
      return accept;
    }
    assert.equal(accept.code, 0, accept.out);
    return cliBounded(args, s);
  }
  return first;
}

test("prune and archive never touch a file outside segments/: a seal naming ../../../outside/victim.bin with its SHA-256 is kept", async (t) => {
  const s = scene(t);
  const { trailPath } = await foreignTrail(s.ws, { sealBytes: 40_000, sessions: 4 });
  const victim = path.join(s.outside, "victim.bin");
  fs.writeFileSync(victim, "the user's file, whose SHA-256 the attacker knows\n");
  const sha = createHash("sha256").update(fs.readFileSync(victim)).digest("hex");
  withoutTriggers(trailPath, `UPDATE seals SET file_name = '../../../outside/victim.bin', file_sha256 = '${sha}' WHERE segment_no = 1;`);
  const before = fingerprint(s.outside);
  const archive = path.join(s.root, "archive");
  for (const args of [["prune"], ["archive", "--to", archive]]) {
    const r = await gatedThenAccepted(s, [...args, "--before", "2100-01-01", "--workspace", s.ws]);
    assert.equal(fingerprint(s.outside), before, `${args[0]} left the folder outside alone: ${r.out}`);
    assert.match(r.out, /(kept segment 1: its file name|The seal of segment 1 names the file) "\.\.\/\.\.\/\.\.\/outside\/victim\.bin",? (which )?is not one the store makes/, `${args[0]}: ${r.out}`);
  }
  assert.ok(!fs.existsSync(path.join(archive, "victim.bin")), "the victim was not copied into the archive either");
});

test("prune and archive act only on seals a key you trust signed: a stranger's seal and a seal with a garbage signature are kept, with the reason", async (t) => {
  // A stranger's genuinely sealed and signed trail, shipped in the repository.
  const s = scene(t);
  await foreignTrail(s.ws, { sealBytes: 40_000, sessions: 4 });
  const segs = path.join(trailDir(s.ws), "segments");
  const shipped = fingerprint(segs);
  for (const args of [["prune"], ["archive", "--to", path.join(s.root, "archive")]]) {
    const r = await cliBounded([...args, "--before", "2100-01-01", "--workspace", s.ws], s);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /kept segment 1: its seal is not signed by a key you trust \(signed by [0-9a-f]{16}…\)/, r.out);
    assert.match(r.out, /Nothing to (prune|archive)/);
    assert.equal(fingerprint(segs), shipped, `${args[0]} removed none of the stranger's segments`);
  }

  // The user's own trail, one seal's signature replaced by garbage (presence is not validity).
  const own = scene(t);
  const { trailPath, seals } = await ownSealedTrail(own.ws, own.config);
  assert.ok(seals >= 2, `several seals (${seals})`);
  withoutTriggers(trailPath, `UPDATE seals SET signature = '${Buffer.alloc(64, 7).toString("base64")}' WHERE segment_no = 1;`);
  const r = await gatedThenAccepted(own, ["prune", "--before", "2100-01-01", "--workspace", own.ws]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /kept segment 1: its seal's signature does not verify/, r.out);
  assert.ok(fs.existsSync(path.join(trailDir(own.ws), "segments", "seg-000001.db")), "the segment with the forged seal stays");
  // …and so do the segments after it (what remains is always a whole suffix of the trail).
  assert.match(r.out, /segments after it are kept too/);
  assert.ok(fs.existsSync(path.join(trailDir(own.ws), "segments", "seg-000002.db")), "a segment after a kept one was pruned");
  assert.equal(sqlite3(trailPath, "SELECT count(*) FROM events WHERE event_type = 'trail_pruned';").stdout.trim(), "0");
});
