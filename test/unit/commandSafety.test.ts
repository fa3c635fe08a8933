// run_command against what a model (or a prompt injection) would try: reading credentials from
// the editor's environment, and leaving processes running after the command "returned".
import assert from "node:assert/strict";
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

/** Alive and not a zombie (a reaped-late child counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

async function eventuallyGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
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
  // Returned: the shell exits at once, leaving a daemon-like child with its output closed.
  const returned = await output(runCommandTool.run({ command: "sleep 60 >/dev/null 2>&1 & echo child=$!" }, ctx(t)));
  const pid1 = Number(/child=(\d+)/.exec(returned)?.[1]);
  assert.ok(pid1 > 0, returned);
  assert.ok(await eventuallyGone(pid1), "the background child outlived its command");

  // Timed out: everything in the group goes.
  const dir = ctx(t);
  const timedOut = await output(runCommandTool.run({ command: "sleep 60 >/dev/null 2>&1 & echo $! > child.pid; sleep 60", timeout_seconds: 0.5 }, dir));
  assert.match(timedOut, /^timeout:/);
  const pid2 = Number(fs.readFileSync(`${dir.root}/child.pid`, "utf8"));
  assert.ok(await eventuallyGone(pid2), "a background child survived the timeout");

  // Cancelled.
  const controller = new AbortController();
  const c3 = ctx(t, { signal: controller.signal });
  const running = output(runCommandTool.run({ command: "sleep 60 >/dev/null 2>&1 & echo $! > child.pid; sleep 60" }, c3));
  for (let i = 0; i < 100 && !fs.existsSync(`${c3.root}/child.pid`); i++) await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  assert.match(await running, /^cancelled:/);
  const pid3 = Number(fs.readFileSync(`${c3.root}/child.pid`, "utf8"));
  assert.ok(await eventuallyGone(pid3), "a background child survived the cancel");
  t.diagnostic("background children tried: 3, survivors: 0");
});
