// The CLI as a newcomer meets it: commands that only read (or sign, prune, retry what is there)
// never create a trail; the trail is found from a subfolder, or named by its folder or file;
// every command answers --help.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { TrailStore } from "../../src/trail/store/trailStore";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { CLI } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

function cliIn(cwd: string, args: string[], config: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: config, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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

test("retry takes the short event id failures prints; show prints the whole task, each call's event id, and says what a received session lacks", { timeout: 120_000 }, async (t) => {
  const ws = tempDir(t, "aat-newcomer-ws-");
  const config = tempDir(t, "aat-newcomer-cfg-");
  const server = new FakeAnthropicServer({
    turns: [{ content: [{ type: "tool_use", name: "run_command", input: { command: "test -f fixed.txt || exit 3" } }] }, { content: [{ type: "text", text: "It failed." }] }, { content: [{ type: "text", text: "Retried." }] }],
  });
  const url = await server.start();
  t.after(() => server.stop());
  const env = { AGENT_AUDIT_CONFIG_DIR: config, ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url };
  const task = `Check the build and tell me what fails; ${"and then some more detail about what to look at ".repeat(4)}END-OF-TASK`;
  const run = await cliIn(ws, ["run", task, "--approve", "all"], config, env);
  assert.ok(run.code === 0 || run.code === 1, run.out);
  const failures = await cliIn(ws, ["failures"], config);
  const short = /\n\S+ \S+\s+([0-9a-f]{8})\s/.exec(failures.out)?.[1];
  assert.ok(short, `failures shows a short event id:\n${failures.out}`);
  const show = await cliIn(ws, ["show", "latest"], config);
  assert.match(show.out, /END-OF-TASK/, "the whole task");
  assert.match(show.out, new RegExp(`run_command .* event ${short}`), show.out);
  assert.match((await cliIn(ws, ["retry", short.slice(0, 3)], config, env)).out, /too short/);
  fs.writeFileSync(path.join(ws, "fixed.txt"), "x");
  const retried = await cliIn(ws, ["retry", short, "--approve", "all"], config, env);
  assert.equal(retried.code, 0, retried.out);
  assert.match(retried.out, /Recorded as tool_retry/);

  // A received session: the agent sent no input, no final text.
  const other = tempDir(t, "aat-newcomer-ws-");
  const { store } = await TrailStore.open(path.join(other, ".agent-audit", "trail.db"));
  await store.append({ session_id: "otel-abc", agent_id: "copilot (received)", event_type: "session_start", content: { task: "received" } });
  await store.append({ session_id: "otel-abc", agent_id: "copilot (received)", event_type: "tool_call", step_number: 1, content: { tool_name: "list_directory", input: null } });
  await store.append({ session_id: "otel-abc", agent_id: "copilot (received)", event_type: "session_end", step_number: 1, content: {} });
  await store.close();
  const received = await cliIn(other, ["show", "otel-abc"], config);
  assert.equal(received.code, 0, received.out);
  assert.match(received.out, /list_directory \(input not sent by the agent\)/);
  assert.match(received.out, /Finished \(no final text recorded\)/);
  assert.doesNotMatch(received.out, /\bnull\b|\bundefined\b/);
});

test("hints that name a path work when pasted; export into a missing folder, a second checkpoint and a range bundle read right", { timeout: 120_000 }, async (t) => {
  const ws = tempDir(t, "aat-newcomer-ws-");
  const config = tempDir(t, "aat-newcomer-cfg-");
  const server = new FakeAnthropicServer({ turns: [{ content: [{ type: "tool_use", name: "list_directory", input: { path: "." } }] }, { content: [{ type: "text", text: "Done." }] }] });
  const url = await server.start();
  t.after(() => server.stop());
  assert.equal((await cliIn(ws, ["run", "look", "--approve", "all"], config, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url })).code, 0);
  const out = path.join(tempDir(t, "aat-newcomer-out-"), "it's my evidence");
  const made = await cliIn(ws, ["evidence", "latest", "--out", out], config);
  assert.equal(made.code, 0, made.out);
  const key = /give it to the auditor[^\n]*\n {2}(\S+)/.exec(made.out)![1];
  const hint = /\(or (node .*) --key KEY\)/.exec(made.out)![1];
  const pasted = spawnSync("sh", ["-c", `${hint} --key ${key}`], { encoding: "utf8" });
  assert.equal(pasted.status, 0, `the printed command, pasted into a shell: ${hint}\n${pasted.stdout}${pasted.stderr}`);

  const missing = await cliIn(ws, ["export", "latest", "--format", "jsonl", "--out", path.join(ws, "no", "such", "dir", "s.jsonl")], config);
  assert.equal(missing.code, 2, missing.out);
  assert.match(missing.out, /folder .* does not exist/);
  assert.doesNotMatch(missing.out, /unexpected error|ENOENT/);
  await cliIn(ws, ["checkpoint"], config);
  const again = await cliIn(ws, ["checkpoint"], config);
  assert.match(again.out, /^Already signed: checkpoint \d+/, again.out);
  const range = await cliIn(ws, ["evidence", "--from", "1", "--to", "3", "--out", path.join(tempDir(t), "r")], config);
  assert.match(range.out, /Wrote 3 events of seq 1–3 /, range.out);
});
