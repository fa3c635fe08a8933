// The cross-check with a verifier we did not write: test/go/verifybundle, built on Go's
// golang.org/x/mod/sumdb/note (signed notes) and tlog (inclusion and consistency proofs), from
// Debian's golang-go and golang-golang-x-mod-dev (test/e2e/provision.sh installs them). For the
// unmodified bundles and for every single mutation below, our standalone verifier's verdict
// (valid 0, signer not trusted 3, invalid 1) must equal Go's.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { noteVerifierKey } from "../../src/trail/integrity/signedNote";
import { ed25519Signer } from "../../src/trail/trust/signing";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";
import { copyOf, lines, made, readJson, resign, standalone, writeJson } from "./evidenceFixture";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Builds the Go verifier into .tools/go (GOPATH mode: Debian's packaged x/mod, no network). */
function buildGoVerifier(): string {
  const out = path.join(ROOT, ".tools", "go", "verifybundle");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const r = spawnSync("go", ["build", "-o", out, "."], {
    cwd: path.join(ROOT, "test", "go", "verifybundle"),
    encoding: "utf8",
    env: { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: path.join(ROOT, ".tools", "go", "cache"), GOFLAGS: "" },
  });
  assert.equal(r.status, 0, `go build failed (is golang-go with golang-golang-x-mod-dev installed? test/e2e/provision.sh does it): ${r.error ?? ""}${r.stderr}`);
  return out;
}

type Mutation = [string, (dir: string) => void];

test("Go's sumdb/note and tlog reach our verdict on every bundle and on every single mutation", { timeout: 300_000 }, async (t) => {
  const go = buildGoVerifier();
  const m = await made(t);
  const anchored = path.join(tempDir(t, "aat-go-"), "anchored");
  const r = await runCli(["evidence", "session-a", "--anchor", m.anchor, "--out", anchored, "--workspace", m.ws], m.config);
  assert.equal(r.code, 0, r.out);
  const anchorNote = path.join(tempDir(t, "aat-go-"), "anchor.note");
  fs.writeFileSync(anchorNote, JSON.parse(fs.readFileSync(m.anchor, "utf8")).tree_note);
  const stranger = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const original = lines(m.bundle);
  const at = (d: string, f: string) => path.join(d, f);
  const proofs = (f: (p: any) => void) => (d: string) => {
    const p = readJson(d);
    f(p);
    writeJson(d, p);
  };
  const flip = (s: string, i = 5) => {
    const b = Buffer.from(s, "base64");
    b[i] ^= 1;
    return b.toString("base64");
  };
  const dropLines = (keep: (l: string) => boolean) => (d: string) => {
    const p = readJson(d);
    const kept = lines(d).map((l, i) => [l, p.leaves[i]] as const).filter(([l]) => keep(l));
    fs.writeFileSync(at(d, "events.jsonl"), kept.map(([l]) => l).join("\n") + "\n");
    p.leaves = kept.map(([, x]) => x);
    writeJson(d, p);
  };
  const appendSig = (line: string) => (d: string) => fs.appendFileSync(at(d, "checkpoint.txt"), line);
  const editNote = (f: (note: string) => string) => (d: string) => fs.writeFileSync(at(d, "checkpoint.txt"), f(fs.readFileSync(at(d, "checkpoint.txt"), "utf8")));
  const cover = (f: (line: string) => string) => (d: string) => resign(d, m.ownerPem, (text) => text.replace(/^agent-audit-bundle .*$/m, f));
  const failing = original.findIndex((l) => l.includes('"exit_code"'));

  const session: Mutation[] = [
    ["one byte of an event", (d) => { const b = fs.readFileSync(at(d, "events.jsonl")); b[b.indexOf("event_type") + 14] ^= 1; fs.writeFileSync(at(d, "events.jsonl"), b); }],
    ["an event removed with its proof", dropLines((l) => l !== original[failing])],
    ["the session's end removed", dropLines((l) => !l.includes('"session_end"'))],
    ["the failing result, the admission and the end removed", dropLines((l) => !/exit_code|without approval|session_end/.test(l))],
    ["an event passed off as another session's", (d) => {
      const p = readJson(d);
      const leaf = createHash("sha256").update(Buffer.concat([Buffer.from([0]), Buffer.from(original[failing])])).digest("base64");
      const others = [...p.others, { seq: p.leaves[failing].seq, leaf, inclusion: p.leaves[failing].inclusion }];
      dropLines((l) => l !== original[failing])(d);
      const q = readJson(d);
      q.others = others;
      writeJson(d, q);
    }],
    ["an event in twice with its proof", (d) => { const p = readJson(d); fs.appendFileSync(at(d, "events.jsonl"), original[1] + "\n"); p.leaves.push(p.leaves[1]); writeJson(d, p); }],
    ["an inclusion proof hash changed", proofs((p) => (p.leaves[1].inclusion[0] = flip(p.leaves[1].inclusion[0])))],
    ["an inclusion proof hash in non-canonical base64", proofs((p) => { const h: string = p.leaves[1].inclusion[0]; p.leaves[1].inclusion[0] = h.slice(0, 42) + String.fromCharCode(h.charCodeAt(42) ^ 1) + "="; })],
    ["an inclusion proof hash with a character outside base64", proofs((p) => (p.leaves[0].inclusion[0] = "*" + p.leaves[0].inclusion[0].slice(1)))],
    ["an inclusion proof hash removed", proofs((p) => p.leaves[2].inclusion.pop())],
    ["another session's leaf hash changed", proofs((p) => (p.others[0].leaf = flip(p.others[0].leaf)))],
    ["another session's leaf removed", proofs((p) => p.others.shift())],
    ["the proofs' tree size changed", proofs((p) => (p.tree_size += 1))],
    ["a leaf index changed", proofs((p) => (p.leaves[1].index += 1))],
    ["U+FFFD's bytes replaced by one 0xFF", (d) => { const b = fs.readFileSync(at(d, "events.jsonl")); const i = b.indexOf(Buffer.from("\ufffd")); fs.writeFileSync(at(d, "events.jsonl"), Buffer.concat([b.subarray(0, i), Buffer.from([0xff]), b.subarray(i + 3)])); }],
    ["events.jsonl's last newline removed", (d) => fs.writeFileSync(at(d, "events.jsonl"), fs.readFileSync(at(d, "events.jsonl")).subarray(0, -1))],
    ["one byte of the signature", editNote((n) => { const i = n.lastIndexOf(" ") + 10; return n.slice(0, i) + (n[i] === "A" ? "B" : "A") + n.slice(i + 1); })],
    ["one byte of the root, not re-signed", editNote((n) => { const ls = n.split("\n"); ls[2] = (ls[2][0] === "A" ? "B" : "A") + ls[2].slice(1); return ls.join("\n"); })],
    ["re-signed by a stranger who ships a vkey.txt of their own", (d) => {
      resign(d, stranger, (x) => x);
      fs.writeFileSync(at(d, "vkey.txt"), noteVerifierKey(fs.readFileSync(at(d, "checkpoint.txt"), "utf8").split("\n")[0], ed25519Signer(stranger).key.public_key) + "\n");
    }],
    ["re-signed by a stranger, the owner's vkey.txt left", (d) => resign(d, stranger, (x) => x)],
    ["tree size with a leading zero", (d) => resign(d, m.ownerPem, (x) => x.replace(/\n(\d+)\n/, "\n0$1\n"))],
    ["root in non-canonical base64", (d) => resign(d, m.ownerPem, (x) => x.replace(/\n([A-Za-z0-9+/]{42})([A-Za-z0-9+/])=\n/, (_, a, c) => `\n${a}${String.fromCharCode(c.charCodeAt(0) ^ 1)}=\n`))],
    ["an empty extension line", (d) => resign(d, m.ownerPem, (x) => x.replace(/=\n/, "=\n\n").replace(/\n\n$/, "\n"))],
    ["a tab in the signed text", (d) => resign(d, m.ownerPem, (x) => x.replace("agent-audit-bundle session", "agent-audit-bundle\tsession"))],
    ["a carriage return in the note", editNote((n) => n.replace("\n\n", "\r\n\n"))],
    ["the note's final newline removed", editNote((n) => n.slice(0, -1))],
    ["a signature line whose key name holds '+'", appendSig("\u2014 evil+name AAAAAQAB\n")],
    ["a signature line whose key name holds a control character", appendSig("\u2014 evil\u0007 AAAAAQAB\n")],
    ["a signature line with invalid base64", appendSig("\u2014 someone AAAA!AQAB\n")],
    ["a signature line with empty base64", appendSig("\u2014 someone \n")],
    ["a signature line too short to hold a key ID and a signature", appendSig("\u2014 someone AAAA\n")],
    ["101 signature lines", appendSig(Array.from({ length: 100 }, (_, i) => `\u2014 someone${i} AAAAAQAB\n`).join(""))],
    ["an unknown well-formed signature added", appendSig("\u2014 someone AAAAAQAB\n")],
    ["the coverage line removed", cover(() => "x-other-extension 1")],
    ["the coverage ending earlier", cover((l) => l.replace(/ (\d+) (\d+) ended /, (_, a, b) => ` ${a} ${Number(b) - 1} ended `))],
    ["the coverage naming another session", cover((l) => l.replace(/session (\S+)/, `session ${Buffer.from("session-b").toString("base64url")}`))],
    ["the session said to be still running", cover((l) => l.replace(" ended ", " running "))],
    ["the coverage's event list changed", cover((l) => l.replace(/[0-9a-f]{64}$/, "0".repeat(64)))],
  ];
  const range: Mutation[] = [
    ["a range event removed", dropLines((l) => !l.includes('"seq":4,'))],
    ["a range said to reach one further", cover((l) => l.replace(/ (\d+)$/, (_, b) => ` ${Number(b) + 1}`))],
  ];
  const anchoredCases: Mutation[] = [
    ["the previous head removed", proofs((p) => delete p.previous)],
    ["a consistency proof hash changed", proofs((p) => (p.previous.consistency[0] = flip(p.previous.consistency[0])))],
    ["the previous root changed", proofs((p) => (p.previous.root = flip(p.previous.root)))],
  ];

  const verdicts = (dir: string, anchor: boolean) => {
    const ours = standalone(dir, ["--key", m.ownerKey, ...(anchor ? ["--anchor", m.anchor] : [])]);
    const theirs = spawnSync(go, [dir, m.ownerKey, ...(anchor ? [anchorNote] : [])], { encoding: "utf8" });
    return { ours: ours.code, go: theirs.status, detail: `ours: ${ours.out.trim()}\ngo: ${theirs.stdout.trim()}${theirs.stderr}` };
  };
  const table: string[] = [];
  let tried = 0;
  for (const [bundle, cases, anchor] of [[m.bundle, session, false], [m.range, range, false], [anchored, anchoredCases, true]] as const) {
    const clean = verdicts(bundle, anchor);
    assert.deepEqual([clean.ours, clean.go], [0, 0], `the unmodified bundle is valid for both:\n${clean.detail}`);
    for (const [what, mutate] of cases) {
      const copy = copyOf(t, bundle);
      mutate(copy);
      const v = verdicts(copy, anchor);
      tried++;
      table.push(`${what}: ours ${v.ours}, go ${v.go}`);
      assert.equal(v.ours, v.go, `${what}: our verdict differs from Go's\n${v.detail}`);
      if (what === "an unknown well-formed signature added") assert.equal(v.ours, 0, `an extra signature by an unknown key changes nothing:\n${v.detail}`);
      else if (what.startsWith("re-signed by a stranger who")) assert.equal(v.ours, 3, v.detail);
      else assert.equal(v.ours, 1, `${what} is refused:\n${v.detail}`);
    }
  }
  t.diagnostic(`mutations cross-checked with Go: ${tried}, verdicts that differ: 0`);
  t.diagnostic(table.join("; "));
});
