// What a cloned repository may put in place of the trail's files: a symlinked .agent-audit,
// symlinks, FIFOs and device files for trail.db, the journal, segments/ and a segment, and
// files far larger than anything the store writes. Every command refuses them with one line
// and exit 2: none follows a link out, blocks, reads without bound or writes outside.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { withoutTriggers } from "./forgeTrail";
import { assertOneClearLine, cliBounded, fingerprint, foreignTrail, ownSealedTrail, scene, trailDir } from "./repoFixtures";

type Scene = ReturnType<typeof scene>;

async function fakeApi(t: { after(fn: () => Promise<void>): void }): Promise<Record<string, string>> {
  const server = new FakeAnthropicServer({ turns: [{ content: [{ type: "text", text: "Nothing to do." }] }] });
  const url = await server.start();
  t.after(() => server.stop());
  return { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: url };
}

const COMMANDS = [["run", "Look around", "--approve", "none"], ["sessions"], ["verify"], ["prune", "--before", "2100-01-01"], ["archive", "--before", "2100-01-01", "--to", "ARCHIVE"]];

/** Every command on the workspace: exit 2, the refusal in one line, nothing outside changed, no hang. */
async function everyCommandRefuses(s: Scene, env: Record<string, string>, refusal: RegExp, commands = COMMANDS): Promise<void> {
  const before = fingerprint(s.outside);
  for (const c of commands) {
    const args = c.map((a) => (a === "ARCHIVE" ? path.join(s.root, "archive") : a));
    const r = await cliBounded([...args, "--workspace", s.ws], s, { env, timeoutMs: 15_000 });
    assert.equal(r.killed, undefined, `${c[0]} was killed (${r.killed}, peak ${r.peakRssMb} MB): ${r.out}`);
    assert.equal(fingerprint(s.outside), before, `${c[0]} wrote nothing outside`);
    assert.equal(r.code, 2, `${c[0]}: ${r.out}`);
    assertOneClearLine(r.out, refusal);
  }
  assert.ok(!fs.existsSync(path.join(s.root, "archive", "seg-000001.db")), "nothing was archived");
}

test(".agent-audit as a symlink to a folder outside the workspace: every command refuses it and writes nothing there", async (t) => {
  const s = scene(t);
  // The link points at a real trail elsewhere (another project's) and, second, at an empty folder.
  await foreignTrail(s.outside, { signer: "none" });
  fs.symlinkSync(path.join(s.outside, ".agent-audit"), trailDir(s.ws));
  await everyCommandRefuses(s, await fakeApi(t), /\.agent-audit is a symbolic link .*: the trail folder must be a real folder inside the workspace/);
  fs.rmSync(trailDir(s.ws));
  const empty = path.join(s.outside, "empty");
  fs.mkdirSync(empty);
  fs.symlinkSync(empty, trailDir(s.ws));
  await everyCommandRefuses(s, await fakeApi(t), /\.agent-audit is a symbolic link/, [["run", "Look around", "--approve", "none"], ["checkpoint"]]);
  assert.deepEqual(fs.readdirSync(empty), [], "no trail.db or journal was created through the link");
  // A link inside the workspace that leads out through another link is refused too…
  fs.rmSync(trailDir(s.ws));
  fs.symlinkSync(empty, path.join(s.ws, "hop"));
  fs.symlinkSync("hop", trailDir(s.ws));
  await everyCommandRefuses(s, await fakeApi(t), /\.agent-audit is a symbolic link/, [["run", "Look around", "--approve", "none"]]);
  assert.deepEqual(fs.readdirSync(empty), []);
  // …while one to a folder of the same workspace (a user's own layout) is the trail folder.
  fs.rmSync(trailDir(s.ws));
  fs.mkdirSync(path.join(s.ws, "audit-data"));
  fs.symlinkSync("audit-data", trailDir(s.ws));
  const ok = await cliBounded(["run", "Look around", "--approve", "none", "--workspace", s.ws], s, { env: await fakeApi(t) });
  assert.equal(ok.code, 0, ok.out);
  assert.ok(fs.existsSync(path.join(s.ws, "audit-data", "trail.db")));
});

test("trail.db, the journal or segments/ as symlinks: refused, never followed (reads) nor written through (the journal)", async (t) => {
  const s = scene(t);
  const env = await fakeApi(t);
  // Another project's trail, outside: the clone links its files there.
  const { trailPath: other } = await foreignTrail(s.outside, { signer: "none" });
  await foreignTrail(s.ws, { signer: "none" });
  const dir = trailDir(s.ws);
  fs.rmSync(path.join(dir, "trail.db"));
  fs.symlinkSync(other, path.join(dir, "trail.db"));
  fs.rmSync(path.join(dir, "trail.journal"));
  fs.symlinkSync(path.join(path.dirname(other), "trail.journal"), path.join(dir, "trail.journal"));
  await everyCommandRefuses(s, env, /trail\.db is a symbolic link; Agent Audit opens only regular files in the trail folder/);
  // Only the journal a link: the writer would append to the other project's journal.
  fs.rmSync(path.join(dir, "trail.db"));
  fs.copyFileSync(other, path.join(dir, "trail.db"));
  await everyCommandRefuses(s, env, /trail\.journal is a symbolic link/);
  // segments/ a link to a folder outside: prune would delete in it, a seal would write there.
  fs.rmSync(path.join(dir, "trail.journal"));
  fs.mkdirSync(path.join(s.outside, "segs"));
  fs.writeFileSync(path.join(s.outside, "segs", "seg-000001.db.tmp-999999999-x"), "a file of the user's");
  fs.symlinkSync(path.join(s.outside, "segs"), path.join(dir, "segments"));
  await everyCommandRefuses(s, env, /segments is a symbolic link/);
});

test("trail.db or the journal as a FIFO: sessions, verify, run, prune and archive refuse it at once instead of hanging", async (t) => {
  const s = scene(t);
  const env = await fakeApi(t);
  await foreignTrail(s.ws, { signer: "none" });
  const dir = trailDir(s.ws);
  fs.renameSync(path.join(dir, "trail.journal"), path.join(s.root, "journal.saved"));
  execFileSync("mkfifo", [path.join(dir, "trail.journal")]);
  await everyCommandRefuses(s, env, /trail\.journal is a FIFO \(named pipe\); Agent Audit opens only regular files/);
  fs.rmSync(path.join(dir, "trail.journal"));
  fs.renameSync(path.join(s.root, "journal.saved"), path.join(dir, "trail.journal"));
  fs.rmSync(path.join(dir, "trail.db"));
  execFileSync("mkfifo", [path.join(dir, "trail.db")]);
  await everyCommandRefuses(s, env, /trail\.db is a FIFO \(named pipe\)/);
});

test("a segment as a FIFO, a symlink to /dev/zero, or a seal pointing at /dev/zero: verify, prune and archive neither hang nor read without bound", async (t) => {
  const s = scene(t);
  const env = await fakeApi(t);
  const { trailPath } = await ownSealedTrail(s.ws, s.config);
  const seg = path.join(trailDir(s.ws), "segments", "seg-000001.db");
  const saved = path.join(s.root, "seg.saved");
  fs.renameSync(seg, saved);
  const segCommands = COMMANDS.filter((c) => c[0] !== "sessions" && c[0] !== "run");
  execFileSync("mkfifo", [seg]);
  await everyCommandRefuses(s, env, /seg-000001\.db is a FIFO/, segCommands);
  fs.rmSync(seg);
  fs.symlinkSync("/dev/zero", seg);
  await everyCommandRefuses(s, env, /seg-000001\.db is a symbolic link/, segCommands);
  fs.rmSync(seg);
  fs.renameSync(saved, seg);
  // The seal itself names /dev/zero (and claims it is 1.5 GB).
  withoutTriggers(trailPath, "UPDATE seals SET file_name = '../../../../../../../../../../dev/zero', bytes = 1610612736 WHERE segment_no = 1;");
  await everyCommandRefuses(s, env, /seal of segment 1 names the file "(\.\.\/)+dev\/zero", which is not one the store makes/, [["verify"]]);
});

test("files far larger than the store writes (sparse): trail.db, the journal and a segment are refused before a byte is read", async (t) => {
  const s = scene(t);
  const env = await fakeApi(t);
  const { trailPath } = await ownSealedTrail(s.ws, s.config);
  const dir = trailDir(s.ws);
  const grow = (file: string, bytes: number) => {
    const fd = fs.openSync(file, "r+");
    fs.ftruncateSync(fd, bytes);
    fs.closeSync(fd);
  };
  // A segment grown to 1.2 GB of holes: verify read it whole (and hashed it) before comparing.
  const seg = path.join(dir, "segments", "seg-000001.db");
  const real = fs.readFileSync(seg);
  grow(seg, 1_200_000_000);
  const v = await cliBounded(["verify", "--workspace", s.ws], s, { timeoutMs: 15_000, maxRssMb: 600 });
  assert.equal(v.killed, undefined, `verify was killed (${v.killed}, peak ${v.peakRssMb} MB)`);
  assert.equal(v.code, 1, v.out);
  assert.match(v.out, /seg-000001\.db is 1200000000 bytes, its seal says \d+: it is not the file that was sealed \(not read\)/);
  fs.writeFileSync(seg, real);
  // The journal and trail.db past any size the store writes.
  for (const file of ["trail.journal", "trail.db"]) {
    const f = path.join(dir, file);
    const copy = fs.readFileSync(f);
    grow(f, 3_000_000_000);
    await everyCommandRefuses(s, env, new RegExp(`${file.replace(".", "\\.")} is 3000000000 bytes, more than Agent Audit ever writes there`), COMMANDS.slice(0, 3));
    fs.writeFileSync(f, copy);
  }
  assert.ok(fs.statSync(trailPath).size < 1_000_000);
});

test("a hard-linked journal is never written in place: run refuses it, the other name's file is untouched", async (t) => {
  const s = scene(t);
  const env = await fakeApi(t);
  await foreignTrail(s.ws, { signer: "none" });
  const other = path.join(s.outside, "notes.txt");
  fs.linkSync(path.join(trailDir(s.ws), "trail.journal"), other);
  const before = fingerprint(s.outside);
  const r = await cliBounded(["run", "Look around", "--approve", "none", "--workspace", s.ws], s, { env });
  assert.equal(r.code, 2, r.out);
  assertOneClearLine(r.out, /trail\.journal has 2 names \(hard links\); Agent Audit writes it in place, so it writes only a file with one name/);
  assert.equal(fingerprint(s.outside), before);
  // Reading it is harmless: sessions shows the trail.
  const list = await cliBounded(["sessions", "--workspace", s.ws], s);
  assert.equal(list.code, 0, list.out);
});

test("a folder shipped under a temp file's name neither stops the writer nor is deleted", async (t) => {
  const s = scene(t);
  await foreignTrail(s.ws, { signer: "none" });
  const shipped = path.join(trailDir(s.ws), "trail.db.tmp-999999999-x");
  fs.mkdirSync(path.join(shipped, "keep"), { recursive: true });
  fs.writeFileSync(path.join(shipped, "keep", "file"), "not a leftover of ours");
  const r = await cliBounded(["checkpoint", "--workspace", s.ws], s);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Signed checkpoint 1/);
  assert.equal(fs.readFileSync(path.join(shipped, "keep", "file"), "utf8"), "not a leftover of ours");
});
