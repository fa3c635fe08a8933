// Evidence bundles, as an auditor receives them: checked by the bundle's own script on a machine
// with neither the project nor the trail (a bare folder, only `node`), and failing with a message
// that names what changed when one byte of an event, a proof or a signature is altered.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { openNote, parseCheckpoint, parseVerifierKey } from "../../src/trail/integrity/c2spNote";
import { noteVerifierKey, trailOrigin } from "../../src/trail/integrity/signedNote";
import { buildTrailTree } from "../../src/trail/integrity/trailMerkle";
import { TrailStore } from "../../src/trail/store/trailStore";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";


const cli = runCli;

/** Two sessions; the anchor after the first is kept aside, as an auditor would keep it. */
async function twoSessions(t: Parameters<typeof tempDir>[0], config: string): Promise<string> {
  const ws = tempDir(t, "aat-evidence-ws-");
  fs.writeFileSync(path.join(ws, "README.md"), "# x\n");
  for (const task of ["First session", "Second session"]) {
    const server = new FakeAnthropicServer({ turns: [{ content: [{ type: "tool_use", name: "list_directory", input: { path: "." } }] }, { content: [{ type: "text", text: `${task} done.` }] }] });
    const url = await server.start();
    const r = await cli(["run", task, "--workspace", ws, "--approve", "all"], config, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url });
    await server.stop();
    assert.equal(r.code, 0, r.out);
    if (task === "First session") fs.writeFileSync(path.join(ws, "..", `${path.basename(ws)}-anchor.json`), (await cli(["checkpoint", "--print", "--workspace", ws], config)).out);
  }
  return ws;
}

/** Runs the bundle's own verifier from a bare copy of the bundle: no project, no trail, no node_modules. */
function standalone(bundle: string, args: string[] = []): { code: number | null; out: string } {
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), "aat-auditor-"));
  fs.cpSync(bundle, bare, { recursive: true });
  const r = spawnSync(process.execPath, ["verify-bundle.js", ".", ...args], { cwd: bare, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  fs.rmSync(bare, { recursive: true, force: true });
  return { code: r.status, out: r.stdout + r.stderr };
}

test("a session's evidence bundle verifies standalone, and one changed byte of an event, a proof or a signature fails it by name", { timeout: 120_000 }, async (t) => {
  const config = tempDir(t, "aat-evidence-cfg-");
  const ws = await twoSessions(t, config);
  const out = path.join(tempDir(t, "aat-bundle-"), "bundle");
  const kept = path.join(ws, "..", `${path.basename(ws)}-anchor.json`);
  assert.match(fs.readFileSync(kept, "utf8"), /"tree_note": "agent-audit\.local\/trail\//, "checkpoint --print carries the standard tree head");
  const made = await cli(["evidence", "latest", "--out", out, "--anchor", kept, "--workspace", ws], config);
  assert.equal(made.code, 0, made.out);
  assert.match(made.out, /with a consistency proof from the anchored tree head of \d+ events/);
  // The key the owner gives the auditor, by a channel of their own.
  const ownerKey = /give it to the auditor[^\n]*\n {2}(\S+)/.exec(made.out)![1];
  assert.deepEqual(fs.readdirSync(out).sort(), ["README.txt", "checkpoint.txt", "events.jsonl", "proofs.json", "verify-bundle.js", "vkey.txt"]);
  const script = fs.readFileSync(path.join(out, "verify-bundle.js"), "utf8");
  assert.deepEqual([...new Set([...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))].sort(), ["node:crypto", "node:fs", "node:path"], "the verifier needs Node's built-ins only");

  const ok = standalone(out, ["--key", ownerKey, "--anchor", kept]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /Evidence VALID: \d+ events \(session "[^"]+": every event from seq \d+ to its end at seq \d+\) included in the \d+-event tree of agent-audit\.local\/trail\//);
  assert.match(ok.out, /Consistent with the earlier tree head of \d+ events in/);
  // Without a key of the auditor's own, nothing says who signed: vkey.txt is only a claim.
  const unkeyed = standalone(out);
  assert.equal(unkeyed.code, 3, unkeyed.out);
  assert.match(unkeyed.out, /signer not trusted/);
  assert.match(unkeyed.out, /not checked/, "and it says no earlier head was checked");
  assert.equal((await cli(["verify-evidence", out], config)).code, 0, "the owner's own trust store trusts the owner's key");

  // The checkpoint is a standard one: origin, size, root, verifiable with the published key format.
  const vkey = fs.readFileSync(path.join(out, "vkey.txt"), "utf8").trim();
  const cp = parseCheckpoint(openNote(fs.readFileSync(path.join(out, "checkpoint.txt"), "utf8"), parseVerifierKey(vkey)));
  const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"), { readOnly: true });
  assert.equal(cp.size, store.head.seq);
  assert.ok(cp.root.equals(buildTrailTree(store.database).root()), "the root is the trail's RFC 9162 root");
  // The trail's own checkpoints carry the same kind of tree head, signed by the same key.
  const notes = store.database.exec("SELECT t.note, c.seq FROM tree_heads t JOIN checkpoints c USING (checkpoint_no)")[0].values;
  assert.ok(notes.length >= 2);
  for (const [note, seq] of notes) {
    const head = parseCheckpoint(openNote(String(note), parseVerifierKey(noteVerifierKey(trailOrigin(store.trailId), store.database.exec("SELECT public_key FROM keys")[0].values[0][0] as string))));
    assert.ok(head.root.equals(buildTrailTree(store.database, Number(seq)).root()), `tree head at seq ${seq}`);
  }
  await store.close();

  const mutations: [string, (dir: string) => void, RegExp][] = [
    ["one byte of an event", (d) => bump(path.join(d, "events.jsonl"), '"event_type":"'.length + fs.readFileSync(path.join(d, "events.jsonl"), "utf8").indexOf('"event_type":"')), /event seq \d+ \(events\.jsonl line 1\): its inclusion proof does not lead/],
    ["one byte of an inclusion proof", (d) => editJson(d, (p) => (p.leaves[1].inclusion[0] = flipB64(p.leaves[1].inclusion[0]))), /event seq \d+ \(events\.jsonl line 2\).*inclusion proof/],
    ["one byte of the signature", (d) => bump(path.join(d, "checkpoint.txt"), fs.readFileSync(path.join(d, "checkpoint.txt"), "utf8").lastIndexOf(" ") + 10), /checkpoint\.txt.*(does not verify|no signature)/],
    ["one byte of the root", (d) => bump(path.join(d, "checkpoint.txt"), fs.readFileSync(path.join(d, "checkpoint.txt"), "utf8").split("\n").slice(0, 2).join("\n").length + 3), /checkpoint\.txt.*does not verify/],
    ["one byte of the consistency proof", (d) => editJson(d, (p) => (p.previous.consistency[0] = flipB64(p.previous.consistency[0]))), /does not extend the previous tree head/],
  ];
  for (const [what, mutate, message] of mutations) {
    const copy = path.join(tempDir(t, "aat-tampered-"), "b");
    fs.cpSync(out, copy, { recursive: true });
    mutate(copy);
    const r = standalone(copy, ["--key", ownerKey, "--anchor", kept]);
    assert.equal(r.code, 1, `${what}: ${r.out}`);
    assert.match(r.out, /Evidence INVALID/);
    assert.match(r.out, message, what);
  }
  t.diagnostic(`bundle mutations tried: ${mutations.length}, accepted: 0`);
});

test("evidence refuses a trail with findings, and takes a seq range", { timeout: 120_000 }, async (t) => {
  const config = tempDir(t, "aat-evidence-cfg-");
  const ws = await twoSessions(t, config);
  const range = path.join(tempDir(t, "aat-bundle-"), "r");
  const r = await cli(["evidence", "--from", "2", "--to", "5", "--out", range, "--workspace", ws], config);
  assert.equal(r.code, 0, r.out);
  assert.equal(fs.readFileSync(path.join(range, "events.jsonl"), "utf8").trim().split("\n").length, 4);
  const rangeKey = /give it to the auditor[^\n]*\n {2}(\S+)/.exec(r.out)![1];
  assert.equal(standalone(range, ["--key", rangeKey]).code, 0);
  assert.equal((await cli(["evidence", "--from", "5", "--to", "2", "--out", path.join(range, "x"), "--workspace", ws], config)).code, 2);
  const db = path.join(ws, ".agent-audit", "trail.db");
  spawnSync("sqlite3", [db], { input: "DROP TRIGGER events_no_update; UPDATE events SET content = replace(content, 'done', 'DONE') WHERE seq = 3;" });
  const refused = await cli(["evidence", "latest", "--out", path.join(tempDir(t, "aat-bundle-"), "z"), "--workspace", ws], config);
  assert.equal(refused.code, 1, refused.out);
  assert.match(refused.out, /has \d+ findings?; run "agent-audit verify"/);
});

function bump(file: string, at: number): void {
  const b = fs.readFileSync(file);
  b[at] = b[at] === 0x41 ? 0x42 : 0x41;
  fs.writeFileSync(file, b);
}

function flipB64(s: string): string {
  const b = Buffer.from(s, "base64");
  b[5] ^= 0x01;
  return b.toString("base64");
}

function editJson(dir: string, f: (p: any) => void): void {
  const file = path.join(dir, "proofs.json");
  const p = JSON.parse(fs.readFileSync(file, "utf8"));
  f(p);
  fs.writeFileSync(file, JSON.stringify(p));
}
