// Every short-lived command of ours ends once its work is done, with everything it printed
// delivered: the CLI exits explicitly once its output is flushed (not when Node's event loop
// happens to empty), and that must never cut output short, even a large one into a pipe.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";
import { TrailStore } from "../../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { CLI } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

/** Runs the CLI with its output in a pipe read slowly; resolves with what arrived, or rejects when it outlives `ms`. */
function runTimed(args: string[], config: string, ms: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: config }, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`agent-audit ${args.join(" ")} did not end within ${ms} ms`));
    }, ms);
    const chunks: Buffer[] = [];
    // A slow reader: the pipe fills up, so the process must wait for it before exiting.
    child.stdout.on("data", (d: Buffer) => {
      chunks.push(d);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1);
    });
    child.stderr.on("data", (d: Buffer) => chunks.push(d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

test("CLI commands end once their work is done (60 in a row), and a large output into a slow pipe arrives whole", { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const ws = path.join(dir, "ws");
  const config = path.join(dir, "config");
  const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"));
  const events = sessionEvents({ sessionId: "big", task: "A session with long outputs", steps: 40, failures: 2, outputBytes: 20_000 });
  await appendLinked(store, events);
  await store.close();
  const commands = [["sessions"], ["show", "big"], ["failures"], ["verify"], ["export", "big", "--format", "jsonl"]];
  for (let i = 0; i < 60; i++) {
    const args = [...commands[i % commands.length], "--workspace", ws];
    const r = await runTimed(args, config, 30_000);
    assert.ok(r.code === 0 || (args[0] === "verify" && r.code === 3), `agent-audit ${args.join(" ")} exited ${r.code}: ${r.out.slice(0, 300)}`);
    if (args[0] === "export") {
      // Every event, each a whole JSON line: nothing was cut off by the exit.
      const lines = r.out.trim().split("\n").filter((l) => l.startsWith("{"));
      assert.equal(lines.length, events.length, "the export was cut short");
      for (const l of lines) JSON.parse(l);
    }
  }
});
