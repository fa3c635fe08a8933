// The CLI as a newcomer meets it: commands that only read (or sign, prune, retry what is there)
// never create a trail; the trail is found from a subfolder, or named by its folder or file;
// every command answers --help.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { TrailStore } from "../../src/trail/trailStore";
import { CLI } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

function cliIn(cwd: string, args: string[], config: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: config }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

test("in a folder without a trail, no command but run creates one: each says 'no trail' and exits 2, and the folder stays empty", { timeout: 120_000 }, async (t) => {
  const empty = tempDir(t, "aat-newcomer-");
  const config = tempDir(t, "aat-newcomer-cfg-");
  const archive = tempDir(t, "aat-newcomer-archive-");
  const commands = [
    ["checkpoint"],
    ["checkpoint", "--print"],
    ["prune", "--before", "2030-01-01"],
    ["archive", "--before", "2030-01-01", "--to", archive],
    ["replay", "latest"],
    ["retry", "0123456789abcdef"],
    ["trust", "accept"],
    ["sessions"],
    ["show", "latest"],
    ["failures"],
    ["verify"],
    ["evidence", "latest", "--out", path.join(archive, "b")],
  ];
  const wrong: string[] = [];
  for (const args of commands) {
    const r = await cliIn(empty, args, config);
    if (r.code !== 2 || !/no trail in/.test(r.out) || r.out.trim().split("\n").length !== 1) wrong.push(`${args.join(" ")}: exit ${r.code}: ${r.out.trim()}`);
    if (fs.readdirSync(empty).length) {
      wrong.push(`${args.join(" ")} left ${fs.readdirSync(empty).join(", ")}`);
      fs.rmSync(path.join(empty, ".agent-audit"), { recursive: true, force: true });
    }
  }
  assert.deepEqual(wrong, []);
});

test("the trail is found from a subfolder, and --workspace takes the .agent-audit folder or trail.db itself", { timeout: 60_000 }, async (t) => {
  const ws = tempDir(t, "aat-newcomer-ws-");
  const config = tempDir(t, "aat-newcomer-cfg-");
  const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"));
  await store.append({ session_id: "found-it", event_type: "session_start", content: { task: "a task to find" } });
  await store.close();
  const sub = path.join(ws, "src", "deep");
  fs.mkdirSync(sub, { recursive: true });
  for (const [cwd, args] of [
    [sub, ["sessions"]],
    [sub, ["show", "found-it"]],
    [tempDir(t), ["sessions", "--workspace", path.join(ws, ".agent-audit")]],
    [tempDir(t), ["sessions", "--workspace", path.join(ws, ".agent-audit", "trail.db")]],
  ] as const) {
    const r = await cliIn(cwd, [...args], config);
    assert.equal(r.code, 0, `${args.join(" ")} in ${cwd}: ${r.out}`);
    assert.match(r.out, /a task to find/, `${args.join(" ")}: ${r.out}`);
  }
  assert.ok(!fs.existsSync(path.join(sub, ".agent-audit")) && !fs.existsSync(path.join(ws, "src", ".agent-audit")), "nothing was created in the subfolders");
});

test("every command the usage lists answers --help with its synopsis, options, an example and its exit codes", { timeout: 120_000 }, async (t) => {
  const config = tempDir(t, "aat-newcomer-cfg-");
  const usage = await cliIn(tempDir(t), ["--help"], config);
  const names = [...new Set([...usage.out.matchAll(/^ {2}agent-audit ([a-z][a-z-]+)/gm)].map((m) => m[1]))];
  assert.ok(names.length >= 17, `commands in the usage: ${names.join(", ")}`);
  const wrong: string[] = [];
  for (const name of names) {
    const r = await cliIn(tempDir(t), [name, "--help"], config);
    if (r.code !== 0 || !r.out.startsWith(`usage: agent-audit ${name}`) || !/\nExample:\n {2}agent-audit /.test(r.out.replace(/\n {2}[A-Z_]+=\S+ /, "\n  ")) || !/Exit codes: 0 /.test(r.out)) wrong.push(`${name}: exit ${r.code}: ${r.out.slice(0, 200)}`);
  }
  assert.deepEqual(wrong, []);
  t.diagnostic(`commands with help: ${names.length}`);
});
