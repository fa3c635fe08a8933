import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { computeEventHash } from "../../src/trail/integrity/hashChain";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import type { Scenario } from "../fakeAnthropic/scenario";
import { sampleWorkspace } from "../helpers/agentHarness";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";

const CLI = path.resolve(__dirname, "..", "..", "..", "dist", "cli.js");
// The CLI's signing key and anchors go to a folder of this test run, not the user's.
const CONFIG_DIR = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "aat-cli-config-"));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI asynchronously (the local API answers from this process). */
function cli(args: string[], opts: { env?: Record<string, string>; input?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = { ...process.env, AGENT_AUDIT_CONFIG_DIR: CONFIG_DIR, ...opts.env };
    if (!opts.env?.ANTHROPIC_API_KEY) delete env.ANTHROPIC_API_KEY;
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(stdout, child);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? "");
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function withApi(t: { after(fn: () => Promise<void>): void }, scenario: Scenario): Promise<Record<string, string>> {
  const server = new FakeAnthropicServer(scenario);
  const url = await server.start();
  t.after(() => server.stop());
  return { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: url };
}

const scenario: Scenario = {
  turns: [
    {
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", name: "read_file", input: { path: "README.md" } },
        { type: "tool_use", name: "run_command", input: { command: "echo nope >&2; exit 4" } },
      ],
    },
    { content: [{ type: "text", text: "All done." }] },
  ],
};

test("run, sessions, show, failures, verify and export work together as documented", async (t) => {
  const ws = sampleWorkspace(t);
  const env = await withApi(t, scenario);
  const run = await cli(["run", "Check the project", "--workspace", ws, "--approve", "all"], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /step 1 .* 2 tool calls/);
  assert.match(run.stdout, /✖ command_failed: command exited with code 4/);
  assert.match(run.stdout, /Session [0-9a-f-]{36}: completed/);
  assert.match(run.stdout, new RegExp(`Trail: ${ws.replace(/[/\\]/g, "[/\\\\]")}[/\\\\].agent-audit[/\\\\]trail.db`));

  const sessions = await cli(["sessions", "--workspace", ws, "--json"]);
  assert.equal(sessions.code, 0);
  const [s] = JSON.parse(sessions.stdout);
  assert.equal(s.status, "completed");
  assert.equal(s.failed_tool_calls, 1);
  assert.match((await cli(["sessions", "--workspace", ws])).stdout, /SESSION\s+STARTED\s+STATUS[\s\S]*completed\s+2\s+[\d,]+\s+1\s+Check the project/);

  const show = await cli(["show", "latest", "--workspace", ws, "--json"]);
  const events = JSON.parse(show.stdout);
  assert.deepEqual(events.map((e: { seq: number }) => e.seq), [...events.map((e: { seq: number }) => e.seq)].sort((a, b) => a - b));
  assert.equal(events[0].event_type, "session_start");
  assert.equal(events.at(-1).event_type, "session_end");
  const text = await cli(["show", s.session_id.slice(0, 8), "--workspace", ws]);
  assert.match(text.stdout, /Step 1[\s\S]*→ run_command \$ echo nope[\s\S]*exit code 4[\s\S]*stderr: nope/);

  const failures = JSON.parse((await cli(["failures", "--workspace", ws, "--json"])).stdout);
  assert.equal(failures.length, 1);
  assert.equal(failures[0].error.type, "command_failed");
  assert.equal(failures[0].error.detail.exit_code, 4);
  assert.deepEqual(failures[0].input, { command: "echo nope >&2; exit 4" });

  const verify = await cli(["verify", "--workspace", ws]);
  assert.equal(verify.code, 0);
  assert.match(verify.stdout, /Trail valid and authenticated: \d+ events/);

  const out = path.join(tempDir(t), "session.jsonl");
  const exp = await cli(["export", s.session_id, "--format", "jsonl", "--out", out, "--workspace", ws]);
  assert.equal(exp.code, 0, exp.stderr);
  const lines = fs.readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, events.length);
  // Whoever receives the export can recompute every hash from the line alone.
  for (const e of lines) {
    const { canonicalJson } = await import("../../src/trail/integrity/canonicalJson");
    assert.equal(computeEventHash(e.prev_hash, { ...e, content: canonicalJson(e.content) }), e.hash);
  }
});

test("bad arguments, a missing workspace, a missing key and an unreadable trail give one clear line and exit 2", async (t) => {
  const ws = sampleWorkspace(t);
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /unknown command "frobnicate"/],
    [["run"], /run needs a task/],
    [["run", "x", "--bogus"], /unknown option --bogus/],
    [["run", "x", "--max-iterations", "zero", "--workspace", ws], /--max-iterations must be a whole number/],
    [["run", "x", "--approve", "maybe", "--workspace", ws], /--approve must be ask, all or none/],
    [["run", "x", "--workspace", ws], /ANTHROPIC_API_KEY is not set/],
    [["sessions", "--workspace", path.join(ws, "missing")], /workspace .*missing does not exist/],
    [["sessions", "--workspace", ws], /no trail in/],
    [["show", "--workspace", ws], /no trail in|needs a session id/],
    [["export", "x", "--workspace", ws], /--format jsonl/],
    [["sessions", "extra-arg", "--workspace", ws], /unexpected argument "extra-arg"/],
    [["diff", "a", "b", "c", "--workspace", ws], /unexpected argument "c"/],
    [["show", "latest", "more", "stuff"], /unexpected arguments "more" "stuff"/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, `more than one line: ${r.stderr}`);
  }
  fs.mkdirSync(path.join(ws, ".agent-audit"));
  fs.writeFileSync(path.join(ws, ".agent-audit", "trail.db"), "garbage".repeat(50));
  const corrupt = await cli(["verify", "--workspace", ws]);
  assert.equal(corrupt.code, 2);
  assert.match(corrupt.stderr, /trail\.db is not an SQLite database.*left untouched/);
});

test("verify exits 1 and names the seq after someone edits an event with the sqlite3 CLI", async (t) => {
  const ws = sampleWorkspace(t);
  const env = await withApi(t, scenario);
  assert.equal((await cli(["run", "Check", "--workspace", ws, "--approve", "all"], { env })).code, 0);
  const db = path.join(ws, ".agent-audit", "trail.db");
  const trigger = sqlite3(db, "SELECT sql FROM sqlite_master WHERE name = 'events_no_update';").stdout.trim();
  const seq = Number(sqlite3(db, "SELECT seq FROM events WHERE event_type = 'tool_call' AND tool_name = 'run_command';").stdout);
  const r = sqlite3(db, `DROP TRIGGER events_no_update; UPDATE events SET content = replace(content, 'exit 4', 'exit 0') WHERE seq = ${seq}; ${trigger};`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(sqlite3(db, `SELECT content FROM events WHERE seq = ${seq};`).stdout, /exit 0/);
  const verify = await cli(["verify", "--workspace", ws]);
  assert.equal(verify.code, 1);
  assert.match(verify.stdout, new RegExp(`Trail INVALID: 1 finding\\n  HASH_MISMATCH at seq ${seq}: seq ${seq} \\(tool_call\\) was altered`));
  const json = JSON.parse((await cli(["verify", "--workspace", ws, "--json"])).stdout);
  assert.equal(json.valid, false);
  assert.deepEqual(json.findings.filter((f: { severity: string }) => f.severity === "error").map((f: { category: string; seq: number }) => [f.category, f.seq]), [["HASH_MISMATCH", seq]]);
});

test("terminal approvals: answers typed on stdin reject or edit, and are recorded with the approver", async (t) => {
  const ws = sampleWorkspace(t);
  const edit = { content: [{ type: "tool_use" as const, name: "write_file", input: { path: "notes.txt", content: "from model" } }] };
  const env = await withApi(t, { turns: [edit, { content: [{ type: "text", text: "ok" }] }, edit, { content: [{ type: "text", text: "ok" }] }] });
  const rejected = await cli(["run", "Write notes", "--workspace", ws, "--approve", "ask"], { env, input: "n\n" });
  assert.equal(rejected.code, 0, rejected.stderr);
  assert.match(rejected.stdout, /write_file wants to run[\s\S]*\+ from model[\s\S]*rejected by cli:/);
  assert.equal(fs.existsSync(path.join(ws, "notes.txt")), false);
  const edited = await cli(["run", "Write notes", "--workspace", ws, "--approve", "ask"], {
    env,
    input: 'e\n{"path": "notes.txt", "content": "from human"}\n',
  });
  assert.equal(edited.code, 0, edited.stderr);
  assert.equal(fs.readFileSync(path.join(ws, "notes.txt"), "utf8"), "from human");
  const events = JSON.parse((await cli(["show", "latest", "--workspace", ws, "--json"])).stdout);
  const approval = events.find((e: { event_type: string }) => e.event_type === "approval");
  assert.equal(approval.approval_status, "edited");
  assert.match(approval.approver_id, /^cli:/);
});

test("Ctrl-C during a running command cancels cleanly: exit 1 and session_cancelled in the trail", async (t) => {
  const ws = sampleWorkspace(t);
  const env = await withApi(t, { turns: [{ content: [{ type: "tool_use", name: "run_command", input: { command: "sleep 30" } }] }] });
  let sent = false;
  const started = Date.now();
  const r = await cli(["run", "Wait", "--workspace", ws, "--approve", "all"], {
    env,
    onStdout: (text, child) => {
      if (!sent && text.includes("approved by")) {
        sent = true;
        setTimeout(() => child.kill("SIGINT"), 200);
      }
    },
  });
  assert.equal(r.code, 1);
  assert.ok(Date.now() - started < 10_000);
  assert.match(r.stdout, /cancelled/);
  const events = JSON.parse((await cli(["show", "latest", "--workspace", ws, "--json"])).stdout);
  const last = events.at(-1);
  assert.equal(last.event_type, "session_cancelled");
  assert.equal(last.content.interrupted.tool_name, "run_command");
  assert.equal((await cli(["verify", "--workspace", ws])).code, 0);
});

test("max iterations reached exits 1", async (t) => {
  const ws = sampleWorkspace(t);
  const loop = { content: [{ type: "tool_use" as const, name: "list_directory", input: { path: "." } }] };
  const env = await withApi(t, { turns: [loop, loop] });
  const r = await cli(["run", "Loop", "--workspace", ws, "--max-iterations", "2"], { env });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /: timeout/);
});

test("--version and -v print the package's version", async () => {
  const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "package.json"), "utf8"));
  for (const flag of ["--version", "-v"]) {
    const r = await cli([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `agent-audit ${version}\n`);
  }
  assert.match((await cli(["--help"])).stdout, /agent-audit export <session-id> --format jsonl \[--out FILE\] \[--workspace DIR\]/);
});

test("counts read as English and show does not pass a listing's first line off as the whole output", async (t) => {
  const ws = sampleWorkspace(t);
  const env = await withApi(t, {
    turns: [
      { content: [{ type: "tool_use", name: "list_directory", input: { path: "." } }, { type: "tool_use", name: "run_command", input: { command: "exit 3" } }] },
      { content: [{ type: "text", text: "Done." }] },
    ],
  });
  const run = await cli(["run", "Look around", "--workspace", ws, "--approve", "all"], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /\(2 steps, [\d,]+ in \/ [\d,]+ out tokens, 1 failed tool call, /);
  const entries = fs.readdirSync(ws).filter((n) => n !== ".agent-audit").length;
  const show = await cli(["show", "latest", "--workspace", ws]);
  assert.match(show.stdout, new RegExp(`list_directory \\. +event [0-9a-f]{8}\\n\\s+✔ ok .*\\(\\+${entries - 1} more lines?\\)`));
  const failures = await cli(["failures", "--workspace", ws]);
  assert.match(failures.stdout, /^1 failed tool call: run_command command_failed ×1/);
  const checkpoint = await cli(["verify", "--workspace", ws]);
  assert.doesNotMatch(checkpoint.stdout, /\b1 signed checkpoints\b/);
  assert.match(checkpoint.stdout, /\b\d+ signed checkpoints?\b/);
});

test("the newcomer's sequence verifies clean: npm run demo, then replay latest and verify in the demo's folder", { timeout: 120_000 }, async (t) => {
  const config = tempDir(t, "aat-newcomer-");
  const demo = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [path.resolve(__dirname, "..", "..", "demo", "runDemo.js")], { env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: config }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
  assert.equal(demo.code, 0, demo.out);
  assert.match(demo.out, /signed with your key [0-9a-f]{16}… from your trust store/);
  assert.match(demo.out, /Trail valid and authenticated/);
  const ws = /Workspace: a copy of demo\/sample-project in (\S+)/.exec(demo.out)![1];
  assert.ok(demo.out.split(path.join(ws, ".agent-audit", "trail.db")).length - 1 <= 2, "the trail's full path is printed at most twice (run, verify)");
  t.after(() => fs.rmSync(ws, { recursive: true, force: true }));
  const env = { AGENT_AUDIT_CONFIG_DIR: config };
  const replay = await cli(["replay", "latest", "--workspace", ws, "--approve", "all"], { env });
  assert.ok(replay.code === 0 || replay.code === 1, replay.stderr);
  const verify = await cli(["verify", "--workspace", ws], { env });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /Trail valid and authenticated/);
  assert.doesNotMatch(verify.stdout + verify.stderr, /KEY_UNKNOWN|INVALID/);
});
