import * as fs from "node:fs";
import * as path from "node:path";
import { agentConfig } from "../src/agent/agentDefaults";
import { runAgent } from "../src/agent/agentRunner";
import { AnthropicModelClient } from "../src/agent/anthropicModelClient";
import { SecretRedactor } from "../src/agent/secretRedactor";
import { workspaceTools } from "../src/agent/tools/toolSet";
import { sessionEvents } from "../src/trail/trailQueries";
import { TrailStore } from "../src/trail/trailStore";
import { FakeAnthropicServer } from "../test/fakeAnthropic/fakeAnthropicServer";
import type { Turn } from "../test/fakeAnthropic/scenario";

/**
 * The runner's own cost per step: wall time of a session minus the time spent waiting for
 * the model (each llm_call's latency_ms, which includes the SDK and loopback HTTP) and
 * running tools (execution_time_ms). What is left is recording, redaction, hashing,
 * fsyncs and the loop itself. The local API answers instantly.
 */
export async function agentOverheadPerStep(steps = 40): Promise<{ overheadMs: number; stepMs: number }> {
  const root = fs.mkdtempSync(path.join(process.cwd(), ".bench-agent-")); // the same disk as every other figure
  fs.writeFileSync(path.join(root, "a.txt"), "hello\n".repeat(50));
  const turns: Turn[] = [];
  for (let i = 0; i < steps - 1; i++) {
    turns.push({ content: [{ type: "text", text: `step ${i}` }, { type: "tool_use", name: "read_file", input: { path: "a.txt" } }] });
  }
  turns.push({ content: [{ type: "text", text: "done" }] });
  const server = new FakeAnthropicServer({ turns });
  const baseURL = await server.start();
  const { store } = await TrailStore.open(path.join(root, ".agent-audit", "trail.db"));
  try {
    const started = performance.now();
    const outcome = await runAgent({
      task: "benchmark",
      workspaceRoot: root,
      model: new AnthropicModelClient({ apiKey: "bench", baseURL }),
      tools: workspaceTools(),
      approve: async () => ({ decision: "approved", approver_id: "bench" }),
      trail: store,
      signal: new AbortController().signal,
      config: agentConfig({ maxIterations: steps, userId: "bench" }),
      redactor: new SecretRedactor(),
    });
    const wall = performance.now() - started;
    const events = sessionEvents(store.database, outcome.session_id);
    const waiting = events.reduce((sum, e) => sum + (e.latency_ms ?? 0) + (e.execution_time_ms ?? 0), 0);
    return { overheadMs: (wall - waiting) / steps, stepMs: wall / steps };
  } finally {
    await store.close();
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
