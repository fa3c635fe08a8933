// run_command against what a model (or a prompt injection) would try: reading credentials from
// the editor's environment, and leaving processes running after the command "returned".
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { test } from "node:test";
import { ToolError } from "../../src/agent/toolError";
import { commandEnvironment } from "../../src/agent/tools/commandEnvironment";
import { runCommandTool } from "../../src/agent/tools/runCommandTool";
import type { ToolContext } from "../../src/agent/tools/toolDefinition";
import { tempDir } from "../helpers/tempDir";

const posix = process.platform !== "win32";

function ctx(t: Parameters<typeof tempDir>[0], extra: Partial<ToolContext> = {}): ToolContext {
  return { root: tempDir(t, "aat-cmd-"), signal: new AbortController().signal, maxOutputBytes: 65536, ...extra };
}

async function output(run: Promise<unknown>): Promise<string> {
  try {
    const r = await run;
    return typeof r === "string" ? r : (r as { text: string }).text;
  } catch (err) {
    if (err instanceof ToolError) return `${err.type}: ${err.message}\n${JSON.stringify(err.detail)}`;
    throw err;
  }
}

test("commands get an allowlisted environment: credentials in the editor's environment do not reach them", { skip: !posix && "uses env(1)" }, async (t) => {
  const planted = {
    ANTHROPIC_API_KEY: "sk-ant-planted",
    AWS_ACCESS_KEY_ID: "AKIAPLANTED",
    AZURE_CLIENT_SECRET: "planted-azure",
    DATABASE_URL: "postgres://u:planted@db/x",
    CI_JOB_TOKEN: "planted-ci",
    VSCODE_GIT_ASKPASS_MAIN: "/planted/askpass",
    SSH_AUTH_SOCK: "/planted/agent.sock",
    MY_EXTRA_SETTING: "wanted",
  };
  const saved = { ...process.env };
  Object.assign(process.env, planted);
  t.after(() => {
    for (const k of Object.keys(planted)) delete process.env[k];
    Object.assign(process.env, saved);
  });
  const out = await output(runCommandTool.run({ command: "env" }, ctx(t)));
  for (const [k, v] of Object.entries(planted)) {
    assert.ok(!out.includes(k) && !out.includes(v), `${k} reached the command`);
  }
  assert.match(out, /^PATH=/m, "PATH is passed");
  assert.match(out, /^HOME=/m, "HOME is passed");
  const withExtra = await output(runCommandTool.run({ command: "env" }, ctx(t, { commandEnv: ["MY_EXTRA_SETTING"] })));
  assert.match(withExtra, /^MY_EXTRA_SETTING=wanted$/m, "a name the user configured is passed");
  assert.ok(!withExtra.includes("sk-ant-planted"));
  assert.deepEqual(Object.keys(commandEnvironment({ LC_ALL: "C", LANG: "en_US.UTF-8", GH_TOKEN: "x", Path: "/bin" })).sort(), ["LANG", "LC_ALL", "Path"]);
  t.diagnostic(`credential variables planted: ${Object.keys(planted).length - 1}, leaked: 0`);
});

test("a command's background children end with it: on return, on timeout and on cancel", { skip: !posix && "POSIX process groups" }, async (t) => {
  // Each child is found by a sleep duration no other process has: a pid the command prints is
  // its own namespace's inside the command fence (commandSandbox.ts), not this machine's.
  const marker = () => `${60 + Math.floor(Math.random() * 1000)}.${process.pid}`;
  const running = (m: string) => spawnSync("pgrep", ["-f", `^sleep ${m}$`]).status === 0;
  const gone = async (m: string) => {
    for (let i = 0; i < 40 && running(m); i++) await new Promise((r) => setTimeout(r, 50));
    return !running(m);
  };
  // Returned: the shell exits at once, leaving a daemon-like child with its output closed.
  const m1 = marker();
  const returned = await output(runCommandTool.run({ command: `sleep ${m1} >/dev/null 2>&1 & echo child=$!` }, ctx(t)));
  assert.match(returned, /child=\d+/);
  assert.ok(await gone(m1), "the background child outlived its command");

  // Timed out: everything in the group goes.
  const m2 = marker();
  const timedOut = await output(runCommandTool.run({ command: `sleep ${m2} >/dev/null 2>&1 & echo started > child.pid; sleep 60`, timeout_seconds: 0.5 }, ctx(t)));
  assert.match(timedOut, /^timeout:/);
  assert.ok(await gone(m2), "a background child survived the timeout");

  // Cancelled.
  const controller = new AbortController();
  const c3 = ctx(t, { signal: controller.signal });
  const m3 = marker();
  const cancelled = output(runCommandTool.run({ command: `sleep ${m3} >/dev/null 2>&1 & echo started > child.pid; sleep 60` }, c3));
  for (let i = 0; i < 100 && !fs.existsSync(`${c3.root}/child.pid`); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(running(m3), "the child was running before the cancel");
  controller.abort();
  assert.match(await cancelled, /^cancelled:/);
  assert.ok(await gone(m3), "a background child survived the cancel");
  t.diagnostic("background children tried: 3, survivors: 0");
});
