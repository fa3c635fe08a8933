import * as fs from "node:fs";
import * as path from "node:path";
import { agentConfig } from "../src/agent/agentDefaults";
import { runAgent } from "../src/agent/agentRunner";
import { AnthropicModelClient } from "../src/agent/anthropicModelClient";
import { replaySession } from "../src/agent/replaySession";
import { workspaceTools } from "../src/agent/tools/toolSet";
import { sessionEvents } from "../src/trail/reading/trailQueries";
import { TrailReader } from "../src/trail/reading/trailReader";
import { TrailStore } from "../src/trail/store/trailStore";
import { FakeAnthropicServer } from "../test/fakeAnthropic/fakeAnthropicServer";
import type { Turn } from "../test/fakeAnthropic/scenario";
import { benchDir } from "./benchRun";

/** The Failed Tool Calls view's queries on a 100,000-event trail holding 1,000 failures. */
export async function failuresQueryMs(): Promise<number> {
  const dir = benchDir("failures");
  const { store } = await TrailStore.open(path.join(dir, "trail.db"));
  try {
    for (let i = 0; i < 100_000; i += 100) {
      const wave: Promise<unknown>[] = [];
      for (let j = i; j < i + 100; j++) {
        const failed = j % 100 === 7;
        wave.push(
          store.append({
            session_id: `s${Math.floor(j / 500)}`,
            event_type: "tool_result",
            step_number: 1 + (j % 50),
            content: failed
              ? { tool_name: j % 200 === 7 ? "run_command" : "read_file", outcome: "error", error: { type: j % 200 === 7 ? "command_failed" : "not_found", message: "x" } }
              : { tool_name: "read_file", outcome: "success", output: "y".repeat(300) },
          }),
        );
      }
      await Promise.all(wave);
    }
    // Across segments, as the Failed Tool Calls view reads them (sealed ones from the catalog).
    const reader = new TrailReader(store);
    const t = performance.now();
    const failures = reader.failedToolCalls({ limit: 2000 });
    const counts = reader.failureCounts();
    const ms = performance.now() - t;
    if (failures.length !== 1000 || counts.length !== 2) throw new Error(`unexpected: ${failures.length} failures, ${counts.length} groups`);
    return ms;
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A replay's own cost per step (recorded answers, tools excluded): wall time minus tool time. */
export async function replayOverheadMsPerStep(steps = 40): Promise<number> {
  const root = benchDir("replay");
  fs.writeFileSync(path.join(root, "a.txt"), "hello\n".repeat(50));
  const turns: Turn[] = [];
  for (let i = 0; i < steps - 1; i++) turns.push({ content: [{ type: "tool_use", name: "read_file", input: { path: "a.txt" } }] });
  turns.push({ content: [{ type: "text", text: "done" }] });
  const server = new FakeAnthropicServer({ turns });
  const baseURL = await server.start();
  const { store } = await TrailStore.open(path.join(root, ".agent-audit", "trail.db"));
  try {
    const cfg = agentConfig({ maxIterations: steps, userId: "bench" });
    const recorded = await runAgent({
      task: "bench", workspaceRoot: root, model: new AnthropicModelClient({ apiKey: "bench", baseURL }), tools: workspaceTools(),
      approve: async () => ({ decision: "approved", approver_id: "bench" }), trail: store, signal: new AbortController().signal, config: cfg,
    });
    const t = performance.now();
    const replay = await replaySession({
      db: store.database, sessionId: recorded.session_id, workspaceRoot: root, tools: workspaceTools(),
      approve: async () => ({ decision: "approved", approver_id: "bench" }), trail: store, signal: new AbortController().signal,
      config: { agentId: cfg.agentId, agentVersion: cfg.agentVersion, userId: cfg.userId, policy: {}, maxOutputBytes: cfg.maxOutputBytes },
    });
    const wall = performance.now() - t;
    const toolMs = sessionEvents(store.database, replay.session_id).reduce((n, e) => n + (e.execution_time_ms ?? 0), 0);
    if (replay.status !== "completed") throw new Error(`replay ended ${replay.status}`);
    return (wall - toolMs) / steps;
  } finally {
    await store.close();
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
