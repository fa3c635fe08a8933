// The trust store (AGENT_AUDIT_CONFIG_DIR, ~/.config/agent-audit) decides what "authenticated"
// means. Anything in it another user could have put there (a file owned by someone else, a
// folder or file others may write) is refused with one line, never believed: otherwise a
// planted key, anchor or vouched pin turns a forged trail green.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { ANCHOR_FORMAT } from "../../src/trail/trust/anchorFile";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { TrailStore } from "../../src/trail/store/trailStore";
import { assertOneClearLine, cliBounded, foreignTrail, scene } from "./repoFixtures";

const NOBODY = 65534;

interface Case {
  name: string;
  /** Plants or loosens something in the user's trust store; returns the refusal expected. */
  plant: (s: ReturnType<typeof scene>, forged: { trailPath: string; mallory: ReturnType<typeof ed25519Signer> }) => Promise<RegExp> | RegExp;
}

const CASES: Case[] = [
  {
    name: "a trusted key owned by another user",
    plant: (s, f) => {
      const file = path.join(s.config, "trusted-keys", "colleague.pem");
      fs.mkdirSync(path.dirname(file), { mode: 0o700 });
      fs.writeFileSync(file, f.mallory.key.public_key, { mode: 0o644 });
      fs.chownSync(file, NOBODY, NOBODY);
      return /trusted-keys\/colleague\.pem is owned by another user \(uid 65534\)/;
    },
  },
  {
    name: "a trusted-keys folder others can write to",
    plant: (s, f) => {
      const dir = path.join(s.config, "trusted-keys");
      fs.mkdirSync(dir);
      fs.chmodSync(dir, 0o777);
      fs.writeFileSync(path.join(dir, "colleague.pem"), f.mallory.key.public_key, { mode: 0o644 });
      return /trusted-keys is writable by other users \(mode 777\); run: chmod go-w /;
    },
  },
  {
    name: "a group-writable trusted key",
    plant: (s, f) => {
      const file = path.join(s.config, "trusted-keys", "colleague.pem");
      fs.mkdirSync(path.dirname(file), { mode: 0o700 });
      fs.writeFileSync(file, f.mallory.key.public_key);
      fs.chmodSync(file, 0o664);
      return /colleague\.pem is writable by other users \(mode 664\)/;
    },
  },
  {
    name: "a FIFO in place of a trusted key (verify would wait on it forever)",
    plant: (s) => {
      const dir = path.join(s.config, "trusted-keys");
      fs.mkdirSync(dir, { mode: 0o700 });
      execFileSync("mkfifo", ["-m", "644", path.join(dir, "colleague.pem")]);
      return /trusted-keys\/colleague\.pem is a FIFO \(named pipe\)/;
    },
  },
  {
    name: "the trust store folder itself writable by others",
    plant: (s, f) => {
      fs.mkdirSync(path.join(s.config, "trusted-keys"), { mode: 0o700 });
      fs.writeFileSync(path.join(s.config, "trusted-keys", "colleague.pem"), f.mallory.key.public_key);
      fs.chmodSync(s.config, 0o757);
      return /agent-audit is writable by other users \(mode 757\)/;
    },
  },
  {
    name: "an anchor planted in a group-writable anchors folder",
    plant: async (s, f) => {
      const { store } = await TrailStore.open(f.trailPath, { readOnly: true });
      const checkpoint = store.latestCheckpoint!;
      const trailId = store.trailId;
      await store.close();
      const dir = path.join(s.config, "anchors");
      fs.mkdirSync(dir);
      fs.chmodSync(dir, 0o770);
      fs.writeFileSync(path.join(dir, `${trailId}.json`), JSON.stringify({ format: ANCHOR_FORMAT, trail_id: trailId, checkpoint, keys: [f.mallory.key] }));
      return /anchors is writable by other users \(mode 770\)/;
    },
  },
  {
    name: "a vouched pin owned by another user",
    plant: async (s) => {
      // The user looked once (exit 3: nothing vouches); someone else then marks the pin vouched.
      const first = await cliBounded(["verify", "--workspace", s.ws], s);
      assert.equal(first.code, 3, first.out);
      const pins = path.join(s.config, "pins");
      const [name] = fs.readdirSync(pins);
      const pin = JSON.parse(fs.readFileSync(path.join(pins, name), "utf8"));
      fs.writeFileSync(path.join(pins, name), JSON.stringify({ ...pin, vouched: true }));
      fs.chownSync(path.join(pins, name), NOBODY, NOBODY);
      return /pins\/[0-9a-f]{32}\.json is owned by another user/;
    },
  },
];

for (const c of CASES) {
  test(`trust store: ${c.name} is refused, not believed (a forged trail never turns green)`, async (t) => {
    const s = scene(t);
    const mallory = ed25519Signer(generateSigningKey());
    // The pin case forges a trail without signatures: only the planted pin could vouch for it.
    const { trailPath } = await foreignTrail(s.ws, { signer: c.name.includes("pin") ? "none" : mallory });
    const refusal = await c.plant(s, { trailPath, mallory });
    const r = await cliBounded(["verify", "--workspace", s.ws], s, { timeoutMs: 15_000 });
    assert.equal(r.killed, undefined, `verify was killed (${r.killed})`);
    assert.doesNotMatch(r.out, /valid and authenticated/, "the forged trail is not authenticated");
    assert.equal(r.code, 2, r.out);
    assertOneClearLine(r.out, refusal);
  });
}

test("trust store: a signing key owned by another user is refused for signing (run, checkpoint)", async (t) => {
  const s = scene(t);
  await foreignTrail(s.ws, { signer: "none" });
  const key = path.join(s.config, "signing-key.pem");
  fs.writeFileSync(key, generateSigningKey(), { mode: 0o600 });
  fs.chownSync(key, NOBODY, NOBODY);
  const r = await cliBounded(["checkpoint", "--workspace", s.ws], s);
  assert.equal(r.code, 2, r.out);
  assertOneClearLine(r.out, /signing-key\.pem is owned by another user \(uid 65534\)/);
  const { store } = await TrailStore.open(trailPath(s.ws), { readOnly: true });
  assert.equal(store.latestCheckpoint, undefined, "nothing was signed with it");
  await store.close();
});

test("trust store: the user's own files (0700 folders, 0600/0644 files) are accepted", async (t) => {
  const s = scene(t);
  const mallory = ed25519Signer(generateSigningKey());
  await foreignTrail(s.ws, { signer: mallory });
  const dir = path.join(s.config, "trusted-keys");
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "colleague.pem"), mallory.key.public_key, { mode: 0o644 });
  const r = await cliBounded(["verify", "--workspace", s.ws], s);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /valid and authenticated/);
});

function trailPath(ws: string): string {
  return path.join(ws, ".agent-audit", "trail.db");
}
