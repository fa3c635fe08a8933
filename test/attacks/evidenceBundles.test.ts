// Evidence bundles as someone between the trail's owner and the auditor would attack them: a
// stranger re-signing with a key of their own, events left out or passed off as another
// session's, bytes changed where a decoder would not notice, a previous head removed, and
// every leniency Go's golang.org/x/mod/sumdb/note refuses. Each is checked with the bundled
// standalone verifier (as the auditor runs it, from a bare folder) and `agent-audit
// verify-evidence`.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { signNote } from "../../src/trail/integrity/signedNote";
import { ed25519Signer } from "../../src/trail/trust/signing";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";
import { copyOf, lines, made, readJson, resign, standalone, writeJson } from "./evidenceFixture";

test("a bundle re-signed by a stranger with a vkey.txt of their own is 'signer not trusted' (exit 3) in every verifier, however its key is named", { timeout: 120_000 }, async (t) => {
  const m = await made(t);
  const stranger = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const copy = copyOf(t, m.bundle);
  resign(copy, stranger, (text) => text);
  const { noteVerifierKey } = await import("../../src/trail/integrity/signedNote");
  fs.writeFileSync(path.join(copy, "vkey.txt"), noteVerifierKey(fs.readFileSync(path.join(copy, "checkpoint.txt"), "utf8").split("\n")[0], ed25519Signer(stranger).key.public_key) + "\n");
  const cli = await runCli(["verify-evidence", copy], m.config);
  assert.equal(cli.code, 3, cli.out);
  assert.match(cli.out, /signer not trusted/);
  const keyed = standalone(copy, ["--key", m.ownerKey]);
  assert.equal(keyed.code, 3, keyed.out);
  assert.match(keyed.out, /none of the keys you gave/);
  assert.equal(standalone(m.bundle, ["--key", m.ownerKey]).code, 0, "the owner's own bundle is VALID with the owner's key");
  // A key name made of escape sequences (one that would redraw the verdict line) is refused
  // as a malformed note, and nothing raw reaches the terminal.
  const escaped = copyOf(t, m.bundle);
  resign(escaped, stranger, (text) => text, "\u001b[2K\u001b[1Aagent-audit.local/trail/x");
  for (const r of [await runCli(["verify-evidence", escaped], m.config), standalone(escaped, ["--key", m.ownerKey])]) {
    assert.equal(r.code, 1, r.out);
    assert.ok(!r.out.includes("\u001b"), `no raw escape sequence in the verdict: ${JSON.stringify(r.out)}`);
  }
});

test("a session bundle proves it is whole: an event left out, passed off as another session's, or duplicated fails; a range too", { timeout: 120_000 }, async (t) => {
  const m = await made(t);
  const original = lines(m.bundle);
  assert.equal(original.length, 7, "session A's 7 events are disclosed");
  assert.ok(readJson(m.bundle).others.length >= 2, "session B's events within A's span are there as leaf hashes");
  assert.ok(!fs.readFileSync(path.join(m.bundle, "events.jsonl"), "utf8").includes("secret-plans"), "nothing of session B is disclosed");
  const ok = standalone(m.bundle, ["--key", m.ownerKey]);
  assert.match(ok.out, /every event from seq 1 to its end at seq 10/);

  const drop = (dir: string, keep: (line: string) => boolean) => {
    const p = readJson(dir);
    const kept = original.map((l, i) => [l, p.leaves[i]] as const).filter(([l]) => keep(l));
    fs.writeFileSync(path.join(dir, "events.jsonl"), kept.map(([l]) => l).join("\n") + "\n");
    p.leaves = kept.map(([, leaf]) => leaf);
    writeJson(dir, p);
  };
  const mutations: [string, (dir: string) => void, RegExp][] = [
    ["the failing result, the admission and the end removed (7 → 4 events)", (d) => drop(d, (l) => !/"exit_code"|admission|"session_end"|without approval/.test(l)), /missing from the bundle/],
    ["the session's end removed", (d) => drop(d, (l) => !l.includes('"session_end"')), /missing from the bundle/],
    [
      "the failing result passed off as another session's (its leaf hash kept)",
      (d) => {
        const p = readJson(d);
        const i = original.findIndex((l) => l.includes('"exit_code"'));
        p.others.push({ seq: p.leaves[i].seq, leaf: createHash("sha256").update(Buffer.concat([Buffer.from([0]), Buffer.from(original[i])])).digest("base64"), inclusion: p.leaves[i].inclusion });
        drop(d, (l) => l !== original[i]);
        const q = readJson(d);
        q.others = p.others;
        writeJson(d, q);
      },
      /not the ones its checkpoint lists/,
    ],
    [
      "an event in twice, with its proof",
      (d) => {
        const p = readJson(d);
        fs.appendFileSync(path.join(d, "events.jsonl"), original[2] + "\n");
        p.leaves.push(p.leaves[2]);
        writeJson(d, p);
      },
      /in the bundle twice/,
    ],
  ];
  for (const [what, mutate, message] of mutations) {
    const copy = copyOf(t, m.bundle);
    mutate(copy);
    for (const r of [standalone(copy, ["--key", m.ownerKey]), await runCli(["verify-evidence", copy], m.config)]) {
      assert.equal(r.code, 1, `${what}: ${r.out}`);
      assert.match(r.out, message, `${what}: ${r.out}`);
    }
  }
  const range = copyOf(t, m.range);
  assert.equal(standalone(range, ["--key", m.ownerKey]).code, 0);
  drop(range, (l) => !l.includes('"seq":4,'));
  const r = standalone(range, ["--key", m.ownerKey]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /missing from the bundle's seq 2–6: seq 4/);
  t.diagnostic(`completeness mutations tried: ${mutations.length + 1}, accepted: 0`);
});

test("the bytes are the bytes: an event whose stored bytes changed where a UTF-8 decoder would not notice fails", { timeout: 120_000 }, async (t) => {
  const m = await made(t);
  const copy = copyOf(t, m.bundle);
  const file = path.join(copy, "events.jsonl");
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(Buffer.from("\ufffd", "utf8"));
  assert.ok(at > 0, "the fixture holds U+FFFD");
  // U+FFFD's three bytes replaced by one 0xFF: decoded and re-encoded, the line is unchanged.
  fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]));
  for (const r of [standalone(copy, ["--key", m.ownerKey]), await runCli(["verify-evidence", copy], m.config)]) {
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /not one JSON event in UTF-8|inclusion proof does not lead/);
  }
});

test("consistency is claimed only from an earlier head the auditor holds, signed by a trusted key", { timeout: 120_000 }, async (t) => {
  const m = await made(t);
  const withAnchor = path.join(tempDir(t, "aat-ev-out-"), "anchored");
  const made2 = await runCli(["evidence", "session-a", "--anchor", m.anchor, "--out", withAnchor, "--workspace", m.ws], m.config);
  assert.equal(made2.code, 0, made2.out);
  const checked = standalone(withAnchor, ["--key", m.ownerKey, "--anchor", m.anchor]);
  assert.equal(checked.code, 0, checked.out);
  assert.match(checked.out, /Consistent with the earlier tree head of \d+ events in/);
  // Without a head of the auditor's own, nothing is claimed, and the verdict says so.
  const unchecked = standalone(withAnchor, ["--key", m.ownerKey]);
  assert.equal(unchecked.code, 0, unchecked.out);
  assert.doesNotMatch(unchecked.out, /Consistent with/);
  assert.match(unchecked.out, /consistency with history you saw before is not checked/);
  // The previous head removed from the bundle: with the auditor's head, a finding.
  const removed = copyOf(t, withAnchor);
  const p = readJson(removed);
  delete p.previous;
  writeJson(removed, p);
  const r = standalone(removed, ["--key", m.ownerKey, "--anchor", m.anchor]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /no consistency proof from the tree head/);
  // An earlier head signed by a stranger is not one the auditor trusts.
  const stranger = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const anchorJson = JSON.parse(fs.readFileSync(m.anchor, "utf8"));
  const note: string = anchorJson.tree_note;
  const forgedHead = path.join(tempDir(t, "aat-ev-anchor-"), "forged.json");
  fs.writeFileSync(forgedHead, JSON.stringify({ ...anchorJson, tree_note: signNote(note.slice(0, note.lastIndexOf("\n\n") + 1), note.split("\n")[0], ed25519Signer(stranger)) }));
  const f = standalone(withAnchor, ["--key", m.ownerKey, "--anchor", forgedHead]);
  assert.equal(f.code, 1, f.out);
  assert.match(f.out, /earlier tree head in .*no signature by/);
});

test("strict parsing as Go's sumdb/note: each leniency the reference implementation refuses is refused, re-signed by the owner", { timeout: 120_000 }, async (t) => {
  const m = await made(t);
  const cases: [string, (dir: string) => void][] = [
    ["tree size with a leading zero", (d) => resign(d, m.ownerPem, (text) => text.replace(/\n(\d+)\n/, "\n0$1\n"))],
    ["root hash in non-canonical base64", (d) => resign(d, m.ownerPem, (text) => text.replace(/\n([A-Za-z0-9+/]{42})([A-Za-z0-9+/])=\n/, (_, a, c) => `\n${a}${c === "A" ? "B" : String.fromCharCode(c.charCodeAt(0) ^ 1)}=\n`))],
    ["an empty extension line", (d) => resign(d, m.ownerPem, (text) => text.replace(/=\n/, "=\n\n").replace(/\n\n$/, "\n"))],
    ["a control character in the text", (d) => resign(d, m.ownerPem, (text) => text.replace("agent-audit-bundle", "agent-audit-bundle\t"))],
    ["a signature line whose key name holds '+'", (d) => fs.appendFileSync(path.join(d, "checkpoint.txt"), "\u2014 evil+name AAAAAQAB\n")],
    ["a signature line whose key name holds a control character", (d) => fs.appendFileSync(path.join(d, "checkpoint.txt"), "\u2014 evil\u0007 AAAAAQAB\n")],
    ["a signature line with invalid base64", (d) => fs.appendFileSync(path.join(d, "checkpoint.txt"), "\u2014 someone AAAA!AQAB\n")],
    [
      "a proof hash with a character outside base64",
      (d) => {
        const p = readJson(d);
        p.leaves[0].inclusion[0] = `${p.leaves[0].inclusion[0].slice(0, 10)}*${p.leaves[0].inclusion[0].slice(10)}`;
        writeJson(d, p);
      },
    ],
  ];
  for (const [what, mutate] of cases) {
    const copy = copyOf(t, m.bundle);
    mutate(copy);
    const r = standalone(copy, ["--key", m.ownerKey]);
    assert.equal(r.code, 1, `${what}: ${r.out}`);
  }
  t.diagnostic(`parsing leniencies tried: ${cases.length}, accepted: 0`);
});

test("a bundle of a session another agent sent says so: the signature vouches that it was received, not that it happened", { timeout: 120_000 }, async (t) => {
  const { filePinKeeper } = await import("../../src/trail/trust/pinKeeper");
  const { TrailStore } = await import("../../src/trail/store/trailStore");
  const { TrustStore } = await import("../../src/trail/trust/trustStore");
  const config = tempDir(t, "aat-ev-cfg-");
  const ws = tempDir(t, "aat-ev-ws-");
  const trust = new TrustStore(config);
  const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"), { signer: trust.signer(), anchorDir: trust.anchorsDir, pins: filePinKeeper(trust.pins) });
  const received = { via: "otlp", service: "copilot", received_at: new Date().toISOString(), record: "0".repeat(64) };
  await store.append({ session_id: "otel-1", agent_id: "copilot", event_type: "session_start", content: { task: "received", received } });
  await store.append({ session_id: "otel-1", agent_id: "copilot", event_type: "session_end", content: { received } });
  await store.close();
  const out = path.join(tempDir(t, "aat-ev-out-"), "b");
  const made = await runCli(["evidence", "otel-1", "--out", out, "--workspace", ws], config);
  assert.equal(made.code, 0, made.out);
  const key = /give it to the auditor[^\n]*\n {2}(\S+)/.exec(made.out)![1];
  const r = standalone(out, ["--key", key]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /2 of these events were received from otlp \(copilot\), not recorded by Agent Audit's own agent/);
});
