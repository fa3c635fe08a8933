import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { CLI, runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

function places(t: { after(fn: () => void): void }) {
  const root = tempDir(t, "aat-ccc-");
  const ws = path.join(root, "ws");
  const home = path.join(root, "home");
  fs.mkdirSync(path.join(ws, ".claude"), { recursive: true });
  fs.mkdirSync(home);
  return { ws, home, config: path.join(root, "config"), settings: path.join(ws, ".claude", "settings.local.json") };
}

const USERS_OWN = {
  model: "claude-sonnet-5",
  permissions: { allow: ["Bash(npm test)"] },
  hooks: {
    PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "./check-command.sh" }] }],
    Notification: [{ hooks: [{ type: "command", command: "notify-send done" }] }],
  },
};

test("connect merges our hooks into the workspace's local settings, keeps the user's own, and --remove takes out only ours", async (t) => {
  const p = places(t);
  fs.writeFileSync(p.settings, JSON.stringify(USERS_OWN));
  const run = (args: string[]) => runCli(args, p.config, { HOME: p.home });
  const c = await run(["connect", "claude-code", "--workspace", p.ws]);
  assert.equal(c.code, 0, c.out);
  const s = JSON.parse(fs.readFileSync(p.settings, "utf8"));
  assert.equal(s.model, "claude-sonnet-5");
  assert.deepEqual(s.permissions, USERS_OWN.permissions);
  assert.deepEqual(s.hooks.PreToolUse[0], USERS_OWN.hooks.PreToolUse[0]);
  assert.deepEqual(s.hooks.Notification[0], USERS_OWN.hooks.Notification[0]);
  for (const e of ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "Stop", "SessionEnd"]) {
    assert.ok(s.hooks[e].some((g: { hooks: { command: string }[] }) => g.hooks.some((h) => h.command.includes("agent-audit-trail claude-code hook"))), e);
  }
  assert.equal(s.hooks.PreToolUse[1].matcher, "*");
  // Connecting again replaces ours, it does not add a second set.
  assert.equal((await run(["connect", "claude-code", "--workspace", p.ws])).code, 0);
  const twice = JSON.parse(fs.readFileSync(p.settings, "utf8"));
  assert.equal(twice.hooks.PreToolUse.length, 2);
  assert.match((await run(["connect", "--status", "--workspace", p.ws])).out, /workspace .*: connected in .*settings\.local\.json \(11 of 11 hooks\)[\s\S]*user\): not connected/);

  assert.equal((await run(["connect", "claude-code", "--remove", "--workspace", p.ws])).code, 0);
  assert.deepEqual(JSON.parse(fs.readFileSync(p.settings, "utf8")), USERS_OWN);
  assert.match((await run(["connect", "--status", "--workspace", p.ws])).out, /workspace .*: not connected/);
});

test("connect --user writes the user's settings; a settings file that is not JSON is left as it is", async (t) => {
  const p = places(t);
  const run = (args: string[]) => runCli(args, p.config, { HOME: p.home });
  assert.equal((await run(["connect", "claude-code", "--user"])).code, 0);
  const user = JSON.parse(fs.readFileSync(path.join(p.home, ".claude", "settings.json"), "utf8"));
  assert.ok(user.hooks.Stop[0].hooks[0].command.includes("'import' 'claude-code' '--spool'"));
  assert.ok(!user.hooks.Stop[0].hooks[0].command.includes("--workspace"), "a user-level session goes to the trail of the folder it ran in");

  fs.writeFileSync(p.settings, "{ \"hooks\": { // a comment Claude Code would not read\n");
  const bad = await run(["connect", "claude-code", "--workspace", p.ws]);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /is not valid JSON .*left as it is/);
  assert.equal(fs.readFileSync(p.settings, "utf8"), "{ \"hooks\": { // a comment Claude Code would not read\n");
});

test("the hook command spools its stdin privately and exits 0, and exits 0 without blocking when it cannot", async (t) => {
  const p = places(t);
  assert.equal((await runCli(["connect", "claude-code", "--workspace", p.ws], p.config, { HOME: p.home })).code, 0);
  const s = JSON.parse(fs.readFileSync(p.settings, "utf8"));
  const command: string = s.hooks.PostToolUse[0].hooks[0].command;
  const spool = /d='([^']+)'/.exec(command)![1];
  const payload = JSON.stringify({ session_id: "s1", hook_event_name: "PostToolUse", tool_name: "Bash", tool_use_id: "toolu_1", tool_input: { command: "ls" }, tool_response: { stdout: "a" } });
  const ok = spawnSync("sh", ["-c", command], { input: payload, timeout: 10_000 });
  assert.equal(ok.status, 0);
  const files = fs.readdirSync(spool).filter((f) => f.endsWith(".json"));
  assert.equal(files.length, 1);
  assert.match(files[0], /^PostToolUse\.[0-9a-f-]{36}\.json$/);
  assert.equal(fs.readFileSync(path.join(spool, files[0]), "utf8"), payload);
  if (process.platform !== "win32") {
    assert.equal(fs.statSync(path.join(spool, files[0])).mode & 0o777, 0o600);
    assert.equal(fs.statSync(spool).mode & 0o777, 0o700);
  }
  // The spool folder gone (replaced by a file): still exit 0, at once.
  fs.renameSync(spool, `${spool}.away`);
  fs.writeFileSync(spool, "");
  const failed = spawnSync("sh", ["-c", command], { input: payload, timeout: 10_000 });
  assert.equal(failed.status, 0);
});

test("in a git repository, connect keeps the local settings file out of commits (the repository's own exclude file, not .gitignore)", { skip: spawnSync("git", ["--version"]).status === 0 ? false : "no git" }, async (t) => {
  const p = places(t);
  assert.equal(spawnSync("git", ["init", "-q", p.ws]).status, 0);
  const c = await runCli(["connect", "claude-code", "--workspace", p.ws], p.config, { HOME: p.home });
  assert.equal(c.code, 0, c.out);
  assert.match(c.out, /Added .claude\/settings.local.json to .*info\/exclude/);
  assert.equal(spawnSync("git", ["-C", p.ws, "check-ignore", "-q", ".claude/settings.local.json"]).status, 0);
  assert.ok(!fs.existsSync(path.join(p.ws, ".gitignore")));
  // Once is enough.
  const again = await runCli(["connect", "claude-code", "--workspace", p.ws], p.config, { HOME: p.home });
  assert.doesNotMatch(again.out, /Added/);
});

test("the Node hook (agent-audit hook claude-code) records a session as the shell hook does, and SessionEnd writes it into the trail", async (t) => {
  const p = places(t);
  const spool = path.join(p.config, "spool");
  fs.mkdirSync(spool, { recursive: true, mode: 0o700 });
  const base = { session_id: "33333333-aaaa-4bbb-8ccc-123456789abc", cwd: p.ws, transcript_path: path.join(p.home, "none.jsonl") };
  const payloads = [
    { ...base, hook_event_name: "UserPromptSubmit", prompt: "count the files", prompt_id: "p" },
    { ...base, hook_event_name: "PreToolUse", tool_name: "Bash", tool_use_id: "toolu_n1", tool_input: { command: "ls | wc -l" } },
    { ...base, hook_event_name: "PostToolUse", tool_name: "Bash", tool_use_id: "toolu_n1", tool_input: { command: "ls | wc -l" }, tool_response: { stdout: "3", stderr: "" } },
    { ...base, hook_event_name: "SessionEnd", reason: "prompt_input_exit" },
  ];
  for (const payload of payloads) {
    const r = spawnSync(process.execPath, [CLI, "hook", "claude-code", "--spool", spool, "--workspace", p.ws], { input: JSON.stringify(payload), env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: p.config, HOME: p.home }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
  }
  const until = Date.now() + 60_000;
  let sessions: { task: string; status: string }[] = [];
  while (Date.now() < until) {
    const r = await runCli(["sessions", "--workspace", p.ws, "--json"], p.config, { HOME: p.home });
    if (r.code === 0) sessions = JSON.parse(r.out.slice(r.out.indexOf("[")));
    if (sessions[0]?.status === "completed") break;
    await new Promise((res) => setTimeout(res, 300));
  }
  assert.deepEqual(sessions.map((s) => [s.task, s.status]), [["count the files", "completed"]]);
});
