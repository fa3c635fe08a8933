import * as fs from "node:fs";
import * as path from "node:path";
import { agentConfig } from "../src/agent/agentDefaults";
import type { SessionOutcome } from "../src/agent/agentTypes";
import { runAgent } from "../src/agent/agentRunner";
import { AnthropicModelClient } from "../src/agent/anthropicModelClient";
import { SecretRedactor } from "../src/agent/secretRedactor";
import { workspaceTools } from "../src/agent/tools/toolSet";
import { TrailStore } from "../src/trail/store/trailStore";
import { FakeAnthropicServer } from "../test/fakeAnthropic/fakeAnthropicServer";
import type { Turn } from "../test/fakeAnthropic/scenario";

/** A folder for one benchmark on the working folder's disk: every figure is measured on the same disk. */
export function benchDir(name: string): string {
  return fs.mkdtempSync(path.join(process.cwd(), `.bench-${name}-`));
}

/** The median of measurements. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * A real session of `steps` model calls (each reads a file, the last answers) through the SDK
 * and the local API, which answers instantly, with production runner options; `measure` gets
 * the store, the outcome and the session's wall time before everything is cleaned up.
 */
export async function benchSession<T>(
  name: string,
  steps: number,
  measure: (store: TrailStore, outcome: SessionOutcome, wallMs: number) => T,
  /** `eventDelayMs`: the local API streams each event of an answer after this long; `attach`: runs beside the session (returns its stop). */
  opts: { eventDelayMs?: number; attach?: (store: TrailStore) => () => Promise<void> } = {},
): Promise<T> {
  const root = benchDir(name);
  fs.writeFileSync(path.join(root, "a.txt"), "hello\n".repeat(50));
  const turns: Turn[] = [];
  const delay = opts.eventDelayMs ? { delay_ms: opts.eventDelayMs } : {};
  for (let i = 0; i < steps - 1; i++) turns.push({ content: [{ type: "text", text: `step ${i}` }, { type: "tool_use", name: "read_file", input: { path: "a.txt" } }], ...delay });
  turns.push({ content: [{ type: "text", text: "done" }], ...delay });
  const server = new FakeAnthropicServer({ turns });
  const baseURL = await server.start();
  const { store } = await TrailStore.open(path.join(root, ".agent-audit", "trail.db"));
  const detach = opts.attach?.(store);
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
    return measure(store, outcome, performance.now() - started);
  } finally {
    await detach?.();
    await store.close();
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
