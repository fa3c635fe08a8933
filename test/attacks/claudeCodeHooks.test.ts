import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { CLI, runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

/**
 * What reaches a hook is hostile: Claude Code hands its hooks tool output, which a repository
 * or a web page can shape, and a spool record is a file. Nothing of it may stop the agent (the
 * hook always exits 0, prints nothing Claude Code would act on, and does not wait), and
 * nothing of it may pass the checks into the trail as something else.
 */
function hostilePayloads(): { name: string; text: string }[] {
  const deep = "[".repeat(200_000) + "]".repeat(200_000);
  return [
    { name: "huge", text: JSON.stringify({ hook_event_name: "PostToolUse", session_id: "s-huge", tool_use_id: "toolu_h", tool_response: "x".repeat(9 * 1024 * 1024) }) },
    { name: "deep", text: `{"hook_event_name":"PreToolUse","session_id":"s-deep","tool_use_id":"toolu_d","tool_input":${deep}}` },
    { name: "path id", text: JSON.stringify({ hook_event_name: "PreToolUse", session_id: "../../etc/passwd", tool_use_id: "toolu_1", tool_input: {} }) },
    { name: "bad tool id", text: JSON.stringify({ hook_event_name: "PreToolUse", session_id: "s-bad", tool_use_id: "toolu 1; rm -rf /", tool_input: {} }) },
    { name: "unknown event", text: JSON.stringify({ hook_event_name: "PwnEverything", session_id: "s-x" }) },
    { name: "not json", text: "\u0000\u0001 not json {" },
    { name: "array", text: "[1,2,3]" },
  ];
}

function hook(args: string[], input: string, env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "hook", "claude-code", ...args], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

test("agent-audit hook claude-code refuses huge, deep and badly named payloads cleanly: exit 0, nothing on stdout, a gap marker", async (t) => {
  const root = tempDir(t, "aat-cch-");
  const spool = path.join(root, "spool");
  fs.mkdirSync(spool, { mode: 0o700 });
  const env = { AGENT_AUDIT_CONFIG_DIR: path.join(root, "config"), HOME: root };
  for (const p of hostilePayloads()) {
    const r = await hook(["--spool", spool], p.text, env);
    assert.equal(r.code, 0, `${p.name}: ${r.err}`);
    assert.equal(r.out, "", `${p.name}: Claude Code reads a hook's stdout; nothing may be there`);
    assert.match(r.err, /refused/, p.name);
  }
  assert.deepEqual(fs.readdirSync(spool).filter((f) => f.endsWith(".json")), [], "no hostile payload was spooled");
  const gaps = fs.readFileSync(path.join(spool, "gaps.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(gaps.length, hostilePayloads().length);
  assert.ok(gaps.some((g) => /larger than 8 MB/.test(g.reason)));
  assert.ok(gaps.some((g) => /nested deeper/.test(g.reason) && g.session_id === "s-deep"));
  assert.ok(gaps.some((g) => /session_id is not an id/.test(g.reason) && g.session_id === undefined));
  const ok = await hook(["--spool", spool], JSON.stringify({ hook_event_name: "PreToolUse", session_id: "s-ok", tool_use_id: "toolu_ok", tool_name: "Bash", tool_input: { command: "ls" } }), env);
  assert.equal(ok.code, 0);
  assert.equal(fs.readdirSync(spool).filter((f) => f.endsWith(".json")).length, 1);
});

test("an import refuses hostile spool records (and a transcript path that is not the session's) and writes only what passes the checks", async (t) => {
  const root = tempDir(t, "aat-cci-");
  const ws = path.join(root, "ws");
  const config = path.join(root, "config");
  fs.mkdirSync(ws);
  const run = (args: string[]) => runCli(args, config, { HOME: root });
  assert.equal((await run(["connect", "claude-code", "--workspace", ws])).code, 0);
  const spool = fs.readdirSync(path.join(config, "claude-code-spool")).map((d) => path.join(config, "claude-code-spool", d))[0];
  let n = 0;
  const put = (event: string, text: string) => fs.writeFileSync(path.join(spool, `${event}.rec${String(++n).padStart(4, "0")}.json`), text, { mode: 0o600 });
  for (const p of hostilePayloads()) put("PreToolUse", p.text.length > 8 * 1024 * 1024 ? p.text.slice(0, 8 * 1024 * 1024) : p.text);
  fs.symlinkSync("/etc/passwd", path.join(spool, "PostToolUse.link0001.json"));
  // A well-formed session whose records name someone else's file as its transcript.
  const base = { session_id: "0b5e4c1e-aaaa-4bbb-8ccc-123456789abc", cwd: ws, transcript_path: "/etc/passwd" };
  put("UserPromptSubmit", JSON.stringify({ ...base, hook_event_name: "UserPromptSubmit", prompt: "list files", prompt_id: "p1" }));
  put("PreToolUse", JSON.stringify({ ...base, hook_event_name: "PreToolUse", tool_name: "Bash", tool_use_id: "toolu_01", tool_input: { command: "ls" } }));
  put("PostToolUse", JSON.stringify({ ...base, hook_event_name: "PostToolUse", tool_name: "Bash", tool_use_id: "toolu_01", tool_input: { command: "ls" }, tool_response: { stdout: "a\nb", stderr: "" } }));
  put("SessionEnd", JSON.stringify({ ...base, hook_event_name: "SessionEnd", reason: "other" }));

  // Written a minute ago: a record that does not parse is refused once its hook cannot still be writing it.
  const past = new Date(Date.now() - 60_000);
  for (const f of fs.readdirSync(spool)) if (f.endsWith(".json")) fs.lutimesSync(path.join(spool, f), past, past);
  const imp = await run(["import", "claude-code", "--spool", spool, "--workspace", ws]);
  assert.equal(imp.code, 0, imp.out);
  assert.match(imp.out, /refused the hook record .*PostToolUse\.link0001\.json: it cannot be opened/);
  const sessions = JSON.parse((await run(["sessions", "--workspace", ws, "--json"])).out);
  assert.deepEqual(sessions.map((s: { session_id: string }) => s.session_id), [`claude-code-${base.session_id}`]);
  assert.equal(sessions[0].task, "list files");
  assert.equal(sessions[0].status, "completed");
  const events = JSON.parse((await run(["show", sessions[0].session_id, "--workspace", ws, "--json"])).out);
  assert.match(events[0].content.transcript_problem, /not where Claude Code keeps this session's transcript; it was not read/);
  const all = JSON.stringify(events);
  assert.ok(!all.includes("root:x:0:0"), "nothing of /etc/passwd is in the trail");
  assert.deepEqual(events.map((e: { event_type: string }) => e.event_type), ["session_start", "tool_call", "tool_result", "session_end"]);
  assert.equal(events[2].content.output, "a\nb");
  // The refused records are gone from the spool and each left a marker; the imported session's records too.
  assert.deepEqual(fs.readdirSync(spool).filter((f) => f.endsWith(".json")), []);
  const gaps = fs.readFileSync(path.join(spool, "gaps.jsonl"), "utf8").trim().split("\n");
  assert.equal(gaps.length, hostilePayloads().length + 1);
  assert.equal((await run(["verify", "--workspace", ws])).code, 0);
});

test("with hooks connected for the user, each session goes to the trail of the folder it ran in, and only to a folder", async (t) => {
  const root = tempDir(t, "aat-ccu-");
  const config = path.join(root, "config");
  const project = path.join(root, "project");
  fs.mkdirSync(project);
  const run = (args: string[]) => runCli(args, config, { HOME: root });
  assert.equal((await run(["connect", "claude-code", "--user"])).code, 0);
  const spool = path.join(config, "claude-code-spool", "user");
  const put = (name: string, p: Record<string, unknown>) => fs.writeFileSync(path.join(spool, `${name}.json`), JSON.stringify(p), { mode: 0o600 });
  const a = { session_id: "11111111-aaaa-4bbb-8ccc-123456789abc", cwd: project };
  put("UserPromptSubmit.a0000001", { ...a, hook_event_name: "UserPromptSubmit", prompt: "hello", prompt_id: "p" });
  put("SessionEnd.a0000002", { ...a, hook_event_name: "SessionEnd", reason: "other" });
  const b = { session_id: "22222222-aaaa-4bbb-8ccc-123456789abc", cwd: path.join(root, "no-such-folder") };
  put("UserPromptSubmit.b0000001", { ...b, hook_event_name: "UserPromptSubmit", prompt: "elsewhere", prompt_id: "p" });
  const imp = await run(["import", "claude-code", "--spool", spool]);
  assert.equal(imp.code, 0, imp.out);
  assert.match(imp.out, /no folder to put it in .*kept in the spool/);
  const sessions = JSON.parse((await run(["sessions", "--workspace", project, "--json"])).out);
  assert.deepEqual(sessions.map((s: { task: string }) => s.task), ["hello"]);
  assert.ok(!fs.existsSync(path.join(root, "no-such-folder")));
  assert.deepEqual(fs.readdirSync(spool).filter((f) => f.endsWith(".json")), ["UserPromptSubmit.b0000001.json"], "the session with no folder waits");
});
