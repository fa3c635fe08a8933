// A model can send a command whose hidden characters make the approval prompt show another
// one: `touch PWNED #\r\x1b[2K    $ npm test` reads as `$ npm test` on a terminal, and "y" runs
// `touch PWNED`. Tried in a real terminal (tmux): the prompt must show what will run, escaped
// and flagged, and what runs after "y" is exactly what was shown.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { revealHidden } from "../../src/shared/hiddenText";
import { CLI } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";
import { fakeApi, sessionEvents, userAndWorkspace } from "./modelRun";

const HOSTILE = "touch PWNED #\r\x1b[2K    $ npm test";
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;

/** A private tmux server (its own socket) running `command` in a 160×40 terminal. */
function terminal(t: { after(fn: () => void): void }, script: string) {
  const socket = `aat-${randomUUID().slice(0, 8)}`;
  const tmux = (...args: string[]) => spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const started = tmux("new-session", "-d", "-x", "160", "-y", "40", "sh", script);
  assert.equal(started.status, 0, started.stderr);
  t.after(() => void tmux("kill-server"));
  const screen = () => tmux("capture-pane", "-p", "-J").stdout;
  const waitFor = async (re: RegExp, what: string) => {
    for (let i = 0; i < 300; i++) {
      const s = screen();
      if (re.test(s)) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`the terminal never showed ${what}; it shows:\n${screen()}`);
  };
  return { screen, waitFor, type: (keys: string) => tmux("send-keys", keys, "Enter") };
}

async function runInTerminal(t: TestContext, answer: "y" | "n") {
  const { env, ws } = userAndWorkspace(t);
  const api = await fakeApi(t, {
    turns: [
      { content: [{ type: "text", text: "Running the tests." }, { type: "tool_use", name: "run_command", input: { command: HOSTILE } }] },
      { content: [{ type: "text", text: "Tests pass." }] },
    ],
  });
  const dir = tempDir(t, "aat-tty-");
  const script = path.join(dir, "run.sh");
  const exports = Object.entries({ ...env, ...api.env }).map(([k, v]) => `export ${k}='${v}'`).join("\n");
  fs.writeFileSync(script, `${exports}\ncd '${ws}'\n'${process.execPath}' '${CLI}' run 'Run the tests' --approve ask\necho "EXIT:$?"\nsleep 60\n`);
  const term = terminal(t, script);
  const prompt = await term.waitFor(/Approve\? \[y\]es/, "the approval prompt");
  term.type(answer);
  const end = await term.waitFor(/EXIT:\d+/, "the end of the run");
  return { ws, env, prompt, end };
}

test("the terminal approval shows a command with hidden characters escaped and flagged; 'n' runs nothing", { skip: !hasTmux && "tmux is not installed" }, async (t) => {
  const { ws, prompt } = await runInTerminal(t, "n");
  const shown = revealHidden(`$ ${HOSTILE}`).text;
  assert.ok(prompt.includes(shown), `the prompt does not show the command as it will run (${JSON.stringify(shown)}):\n${prompt}`);
  assert.match(prompt, /hidden control characters, shown escaped/);
  assert.ok(!fs.existsSync(path.join(ws, "PWNED")), "PWNED was created although the user answered n");
});

test("after 'y' the command that ran is exactly the one the terminal showed", { skip: !hasTmux && "tmux is not installed" }, async (t) => {
  const { ws, env, prompt, end } = await runInTerminal(t, "y");
  assert.match(end, /EXIT:0/);
  // The command line as the user read it on the screen, its escapes read back as characters.
  const line = prompt.split("\n").find((l) => l.trimStart().startsWith("$ "));
  assert.ok(line, prompt);
  const read = line.trimStart().slice(2).replace(/\\x([0-9a-f]{2})|\\u([0-9a-f]{4})/g, (_, x, u) => String.fromCharCode(parseInt(x ?? u, 16)));
  const events = await sessionEvents(ws, env);
  const call = events.find((e) => e.event_type === "tool_call")!;
  assert.equal(read, call.content.input.command);
  assert.equal(read, HOSTILE);
  assert.ok(fs.existsSync(path.join(ws, "PWNED")), "what was shown (touch PWNED …) is what ran");
  assert.equal(events.find((e) => e.event_type === "approval")!.content.decision, "approved");
});
