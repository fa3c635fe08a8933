import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { SecretRedactor } from "../src/agent/secretRedactor";
import { importTranscripts } from "../src/capture/claudeCode/importer";
import { TrailStore } from "../src/trail/store/trailStore";
import type { Block } from "../test/helpers/claudeCodeHarness";
import { claudeAvailable, claudeEnv, ClaudeCodeApi, runClaude } from "../test/helpers/claudeCodeHarness";
import { CLI } from "../test/helpers/cliRunner";
import { benchDir, median } from "./benchRun";

/**
 * What Agent Audit's hooks add to each tool call: the PreToolUse and PostToolUse commands that
 * `connect claude-code` writes, each started as Claude Code starts a command hook (`bash -c`,
 * the payload on stdin) with a payload of a typical size (a 4 kB tool output), timed from spawn
 * to exit; the sum of their medians over `runs` runs. Unlike the end-to-end figure below it does
 * not drown in the noise of a shared machine.
 */
export function hookCommandMsPerToolCall(runs = 200): number {
  const root = benchDir("capture-hook-cmd");
  try {
    const ws = path.join(root, "ws");
    fs.mkdirSync(ws);
    const env = { ...process.env, AGENT_AUDIT_CONFIG_DIR: path.join(root, "config"), HOME: root };
    const c = spawnSync(process.execPath, [CLI, "connect", "claude-code", "--workspace", ws], { env });
    if (c.status !== 0) throw new Error(`connect failed: ${c.stderr}`);
    const hooks = (JSON.parse(fs.readFileSync(path.join(ws, ".claude", "settings.local.json"), "utf8")) as { hooks: Record<string, { hooks: { command: string }[] }[]> }).hooks;
    const base = { session_id: "0b5e4c1e-0000-4000-8000-000000000000", transcript_path: "/tmp/t.jsonl", cwd: ws, tool_name: "Bash", tool_use_id: "toolu_01", tool_input: { command: "npm test" } };
    let total = 0;
    for (const [event, extra] of [["PreToolUse", {}], ["PostToolUse", { tool_response: { stdout: "ok\n".repeat(1300), stderr: "" } }]] as const) {
      const command = hooks[event][0].hooks[0].command;
      const input = JSON.stringify({ ...base, ...extra, hook_event_name: event });
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const r = spawnSync("bash", ["-c", command], { input });
        ms.push(performance.now() - t);
        if (r.status !== 0) throw new Error(`the ${event} hook exited ${r.status}`);
      }
      total += median(ms);
    }
    return total;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The same, end to end with the real Claude Code: a session of `calls` Bash calls (`true`)
 * against the local API, run without hooks, with our hooks (`connect claude-code`) and with
 * hooks that do nothing (`exit 0`, Claude Code's own cost of running a hook), in turns, wall
 * time of the whole `claude -p` (the prompt, Stop and SessionEnd hooks spread over the calls);
 * medians of the per-call differences. NaN when Claude Code is not provisioned
 * (test/capture/provisionClaudeCode.sh).
 */
export async function hookAddedMsPerToolCallEndToEnd(calls = 20, rounds = 6): Promise<{ ours: number; emptyHook: number }> {
  if (!claudeAvailable()) return { ours: NaN, emptyHook: NaN };
  const turns: Block[][] = [...Array.from({ length: calls }, (): Block[] => [{ type: "tool_use", name: "Bash", input: { command: "true" } }]), [{ type: "text", text: "done" }]];
  const api = new ClaudeCodeApi(turns);
  const url = await api.start();
  const root = benchDir("capture-hooks");
  const ours: number[] = [];
  const empty: number[] = [];
  const modes = ["off", "ours", "empty"] as const;
  try {
    for (let round = 0; round <= rounds; round++) {
      const wall: Record<string, number> = {};
      // In turn first: no mode gets the warmer caches every time.
      for (const mode of [...modes.slice(round % 3), ...modes.slice(0, round % 3)]) {
        const dir = path.join(root, `${round}-${mode}`);
        const ws = path.join(dir, "ws");
        const home = path.join(dir, "home");
        const config = path.join(dir, "config");
        fs.mkdirSync(path.join(ws, ".claude"), { recursive: true });
        fs.mkdirSync(home);
        const env = claudeEnv(home, config, url);
        if (mode === "ours") {
          const c = spawnSync(process.execPath, [CLI, "connect", "claude-code", "--workspace", ws], { env });
          if (c.status !== 0) throw new Error(`connect failed: ${c.stderr}`);
        } else if (mode === "empty") {
          const hook = { hooks: [{ type: "command", command: "exit 0" }] };
          fs.writeFileSync(path.join(ws, ".claude", "settings.local.json"), JSON.stringify({ hooks: { PreToolUse: [{ matcher: "*", ...hook }], PostToolUse: [{ matcher: "*", ...hook }] } }));
        }
        const t = performance.now();
        const r = await runClaude(ws, "benchmark", env, "Bash");
        wall[mode] = performance.now() - t;
        if (r.code !== 0) throw new Error(`claude failed: ${r.err}`);
        // The import the hooks started at the end runs after claude has exited: let it finish before the next run.
        if (mode === "ours") await settle(config);
      }
      if (round > 0) {
        ours.push((wall.ours - wall.off) / calls);
        empty.push((wall.empty - wall.off) / calls);
      }
    }
  } finally {
    await api.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  return { ours: median(ours), emptyHook: median(empty) };
}

async function settle(config: string): Promise<void> {
  const until = Date.now() + 30_000;
  const spools = path.join(config, "claude-code-spool");
  while (Date.now() < until) {
    const left = fs.readdirSync(spools).flatMap((d) => fs.readdirSync(path.join(spools, d))).filter((f) => f.endsWith(".json"));
    if (!left.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Trail events per second a transcript import writes: a transcript of `calls` model calls,
 * each with a thinking block, text and a Bash call with its result (four events each), imported
 * into a fresh trail with redaction on, as `import claude-code` runs it; median of three.
 */
export async function transcriptImportEventsPerSecond(calls = 500): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round < 4; round++) {
    const dir = benchDir("capture-import");
    try {
      const sid = `0b5e4c1e-0000-4000-8000-${String(round).padStart(12, "0")}`;
      const file = path.join(dir, `${sid}.jsonl`);
      fs.writeFileSync(file, syntheticTranscript(sid, calls));
      const { store } = await TrailStore.open(path.join(dir, ".agent-audit", "trail.db"));
      const redactor = new SecretRedactor();
      const t = performance.now();
      const [r] = await importTranscripts({ files: [file], store, redact: (v) => redactor.redact(v), log: () => undefined });
      await store.flush();
      const s = (performance.now() - t) / 1000;
      await store.close();
      if (round > 0) rates.push(r.written / s);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return median(rates);
}

function syntheticTranscript(sessionId: string, calls: number): string {
  const lines: string[] = [];
  const base = { sessionId, version: "2.1.328", cwd: "/work/project", isSidechain: false };
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  lines.push(JSON.stringify({ ...base, type: "user", promptId: "p1", message: { role: "user", content: "Fix the failing tests" }, timestamp: at(0) }));
  for (let i = 0; i < calls; i++) {
    const message = { id: `msg_${i}`, model: "claude-opus-5-5", role: "assistant", usage: { input_tokens: 1000 + i, output_tokens: 50, cache_read_input_tokens: 900, cache_creation_input_tokens: 10 } };
    lines.push(JSON.stringify({ ...base, type: "assistant", message: { ...message, content: [{ type: "thinking", thinking: `Step ${i}: the test output says the fixture is missing, so I should look at it.` }] }, timestamp: at(i * 3 + 1) }));
    lines.push(JSON.stringify({ ...base, type: "assistant", message: { ...message, content: [{ type: "text", text: `Running the tests (${i}).` }] }, timestamp: at(i * 3 + 1) }));
    lines.push(JSON.stringify({ ...base, type: "assistant", message: { ...message, stop_reason: "tool_use", content: [{ type: "tool_use", id: `toolu_${i}`, name: "Bash", input: { command: `npm test -- --grep case${i}` } }] }, timestamp: at(i * 3 + 1) }));
    const out = `> test\n${"  ✔ a passing case\n".repeat(20)}  ✖ case${i}: fixture missing\n`;
    lines.push(JSON.stringify({ ...base, type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: out, is_error: false }] }, toolUseResult: { stdout: out, stderr: "" }, timestamp: at(i * 3 + 2) }));
  }
  return lines.join("\n") + "\n";
}
