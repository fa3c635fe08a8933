// Two writers that share a trail file but not a network or mount namespace: a VS Code Dev
// Container (or `unshare -n`, a sandboxed agent) writing the workspace the host writes too, or
// a container that reaches it through a bind mount. The trail's lock must be one for every
// process that can open the file, so that both append gaplessly, across seals, and nothing
// acknowledged is lost. (Root is needed for unshare; CI runs as root. Elsewhere: skipped.)
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { TrailStore } from "../../src/trail/store/trailStore";
import { verifyTrail } from "../../src/trail/integrity/verifyTrail";
import type { Ack } from "../helpers/childAppender";
import { startAppender } from "../helpers/childAppender";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";

const canUnshare = process.platform === "linux" && spawnSync("unshare", ["-n", "-m", "true"]).status === 0;
const skip = canUnshare ? false : "needs root and unshare(1) (Linux)";

/** Every acknowledged event, as acknowledged, in exactly one file (without our code), and the trail verifies. */
async function assertGapless(trailPath: string, acks: Ack[], key: ReturnType<typeof ed25519Signer>): Promise<void> {
  const dir = path.dirname(trailPath);
  const segs = fs.existsSync(path.join(dir, "segments")) ? fs.readdirSync(path.join(dir, "segments")).filter((f) => /^seg-\d+\.db$/.test(f)) : [];
  const stored = new Map<number, string>();
  for (const f of [...segs.map((s) => path.join(dir, "segments", s)), trailPath]) {
    for (const line of sqlite3(f, "SELECT seq || '|' || hash FROM events;").stdout.trim().split("\n").filter(Boolean)) {
      const [seq, hash] = line.split("|");
      assert.ok(!stored.has(Number(seq)), `seq ${seq} is in two files`);
      stored.set(Number(seq), hash);
    }
  }
  assert.equal(new Set(acks.map((a) => a.seq)).size, acks.length, "two events were acknowledged with the same seq");
  for (const a of acks) assert.equal(stored.get(a.seq), a.hash, `acknowledged seq ${a.seq} is missing or differs`);
  // Every acknowledged event (and any writer_start a writer records), nothing else, no gap.
  const { store } = await TrailStore.open(trailPath, { readOnly: true });
  try {
    assert.equal(store.head.seq, stored.size);
    const report = verifyTrail(store.database, { sql: store.sqlEngine, segmentsDir: store.segmentsDir, trustedKeys: [key.key] });
    assert.deepEqual(report.findings.filter((f) => f.severity === "error"), []);
    assert.equal(report.events, store.head.seq);
  } finally {
    await store.close();
  }
}

async function twoWriters(t: { after(fn: () => void): void }, prefixFor: (dir: string) => { pathB: string; prefix: string[] }): Promise<void> {
  const root = tempDir(t);
  const dir = path.join(root, "ws", ".agent-audit");
  const trailPath = path.join(dir, "trail.db");
  const keyFile = path.join(root, "key.pem");
  fs.writeFileSync(keyFile, generateSigningKey(), { mode: 0o600 });
  const signer = ed25519Signer(fs.readFileSync(keyFile, "utf8"));
  (await TrailStore.open(trailPath, { signer })).store.close();
  // Small segments: both writers seal (a seal overwritten by the other would lose its events).
  const env = { AAT_SEAL_BYTES: "60000", AAT_SIGNING_KEY: keyFile };
  const { pathB, prefix } = prefixFor(dir);
  const a = startAppender(trailPath, 1000, "host", "burst", 0, env);
  const b = startAppender(pathB, 1000, "container", "burst", 0, env, prefix);
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal(a.acks.length, 1000);
  assert.equal(b.acks.length, 1000);
  await assertGapless(trailPath, [...a.acks, ...b.acks], signer);
}

test("two writers in different network namespaces (unshare -n) share the trail's lock: 1,000 appends each across seals, gapless, verified", { skip, timeout: 180_000 }, async (t) => {
  await twoWriters(t, (dir) => ({ pathB: path.join(dir, "trail.db"), prefix: ["unshare", "-n"] }));
});

test("a writer in its own mount namespace reaching the trail through a bind mount shares the host's lock: gapless, verified", { skip, timeout: 180_000 }, async (t) => {
  await twoWriters(t, (dir) => {
    // The container's view: the workspace's trail folder bind-mounted at another path, in a
    // mount namespace (and network namespace) of its own, as a Dev Container sees it.
    const mountPoint = path.join(path.dirname(path.dirname(dir)), "container-view");
    fs.mkdirSync(mountPoint);
    const script = 'src=$0; dst=$1; shift; mount --bind "$src" "$dst" && exec "$@"';
    return { pathB: path.join(mountPoint, "trail.db"), prefix: ["unshare", "-m", "-n", "--propagation", "private", "sh", "-c", script, dir, mountPoint] };
  });
});

test("a holder killed with kill -9 leaves its lock file behind; the next writer takes the lock over and appends", { skip: process.platform === "linux" ? false : "Linux lock", timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, "trail.db");
  (await TrailStore.open(trailPath)).store.close();
  const a = startAppender(trailPath, 100_000, "killed", "serial");
  await a.firstAck;
  a.child.kill("SIGKILL");
  await a.exited;
  // Killed while holding or between commits: either way the next writer gets the lock.
  const b = startAppender(trailPath, 50, "next", "serial");
  const rb = await b.exited;
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal(b.acks.length, 50);
});

test("whatever a repository plants where the lock's socket goes (a file, a link to a live socket, a folder, a FIFO) does not wedge a writer", { skip: process.platform === "linux" ? false : "Linux lock", timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  await (await TrailStore.open(trailPath)).store.close();
  const sock = `${trailPath}.lock.sock`;
  // A live socket elsewhere: connecting to it through a planted link must not read as "held".
  const net = await import("node:net");
  const elsewhere = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => elsewhere.listen(path.join(dir, "elsewhere.sock"), () => r()));
  t.after(() => elsewhere.close());
  const plants: [string, () => void][] = [
    ["a regular file", () => fs.writeFileSync(sock, "x")],
    ["a link to a live socket", () => fs.symlinkSync(path.join(dir, "elsewhere.sock"), sock)],
    ["a folder", () => fs.mkdirSync(path.join(sock, "inner"), { recursive: true })],
    ["a FIFO", () => assert.equal(spawnSync("mkfifo", [sock]).status, 0)],
  ];
  for (const [what, plant] of plants) {
    plant();
    const { store } = await TrailStore.open(trailPath);
    await Promise.race([
      store.append({ session_id: "s", event_type: "session_start", content: { task: what } }),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`the writer waited forever behind ${what}`)), 10_000)),
    ]);
    await store.close();
    assert.equal(fs.existsSync(path.join(dir, "elsewhere.sock")), true, "the socket the link pointed to was removed");
  }
});

test("a holder between bind() and listen() (refused for a moment though alive) is never taken over: the writer waits for it", { skip: process.platform === "linux" ? false : "Linux lock", timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, "trail.db");
  await (await TrailStore.open(trailPath)).store.close();
  // Another process takes the lock the way a holder does, with a long gap between bind() and
  // listen() (a holder preempted right there), then holds it, then dies without cleaning up.
  const py = [
    "import socket, sys, time, os",
    "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); print('bound', flush=True)",
    "time.sleep(0.6); s.listen(8); print('listening', flush=True)",
    "time.sleep(1.0); print('gone', flush=True); os._exit(0)",
  ].join("\n");
  const holder = spawn("python3", ["-c", py, `${trailPath}.lock.sock`], { stdio: ["ignore", "pipe", "inherit"] });
  const said: { what: string; at: number }[] = [];
  holder.stdout.on("data", (d: Buffer) => String(d).trim().split("\n").forEach((what) => said.push({ what, at: Date.now() })));
  await new Promise<void>((r) => holder.stdout.once("data", () => r()));
  const { store } = await TrailStore.open(trailPath);
  const e = await store.append({ session_id: "s", event_type: "session_start", content: { task: "after the holder" } });
  const appendedAt = Date.now();
  await store.close();
  const gone = said.find((s) => s.what === "gone");
  assert.ok(gone, `the writer appended while the other process held the lock (it said: ${said.map((s) => s.what).join(", ")})`);
  assert.ok(appendedAt >= gone.at, "the writer appended before the holder was gone");
  assert.equal(e.seq, 1);
});
