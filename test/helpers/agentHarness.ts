import * as fs from "node:fs";
import * as path from "node:path";
import { agentConfig } from "../../src/agent/agentDefaults";
import type { AgentConfig, ApprovalHandler, ProgressEvent, SessionOutcome } from "../../src/agent/agentTypes";
import { runAgent } from "../../src/agent/agentRunner";
import { AnthropicModelClient } from "../../src/agent/anthropicModelClient";
import { SecretRedactor } from "../../src/agent/secretRedactor";
import { workspaceTools } from "../../src/agent/tools/toolSet";
import type { TrailEventRow } from "../../src/trail/reading/trailQueries";
import { sessionEvents } from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import type { TrailStoreOptions } from "../../src/trail/store/trailStore";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import type { Scenario } from "../fakeAnthropic/scenario";
import { tempDir } from "./tempDir";

type T = { after(fn: () => void | Promise<void>): void };

/** A small project to work in. */
export function sampleWorkspace(t: T): string {
  const root = tempDir(t, "aat-ws-");
  fs.mkdirSync(path.join(root, "src"));
  fs.writeFileSync(path.join(root, "src", "greet.js"), 'function greet(name) {\n  return "Helo, " + name;\n}\nmodule.exports = { greet };\n');
  fs.writeFileSync(path.join(root, "README.md"), "# Sample\nA tiny project.\n");
  return root;
}

export interface RunResult {
  outcome: SessionOutcome;
  events: TrailEventRow[];
  store: TrailStore;
  server: FakeAnthropicServer;
  trailPath: string;
  progress: ProgressEvent[];
}

/** Runs a real session: real SDK → local API with `scenario`, real tools, real trail. */
export async function runScenario(
  t: T,
  scenario: Scenario,
  opts: {
    root?: string;
    task?: string;
    approve?: ApprovalHandler;
    config?: Partial<AgentConfig>;
    signal?: AbortSignal;
    apiKey?: string;
    onProgress?: (p: ProgressEvent) => void;
    redact?: boolean;
    storeOptions?: TrailStoreOptions;
  } = {},
): Promise<RunResult> {
  const root = opts.root ?? sampleWorkspace(t);
  const server = new FakeAnthropicServer(scenario);
  const baseURL = await server.start();
  const trailPath = path.join(root, ".agent-audit", "trail.db");
  const { store } = await TrailStore.open(trailPath, opts.storeOptions);
  t.after(async () => {
    await server.stop();
    await store.close().catch(() => undefined);
  });
  const progress: ProgressEvent[] = [];
  const outcome = await runAgent({
    task: opts.task ?? "Fix the greeting typo",
    workspaceRoot: root,
    model: new AnthropicModelClient({ apiKey: opts.apiKey ?? "test-key", baseURL }),
    tools: workspaceTools(),
    approve: opts.approve ?? (async () => ({ decision: "approved", approver_id: "test:approver" })),
    trail: store,
    signal: opts.signal ?? new AbortController().signal,
    config: { ...agentConfig({ userId: "tester" }), ...opts.config },
    redactor: opts.redact === false ? undefined : new SecretRedactor(),
    onProgress: (p) => {
      progress.push(p);
      opts.onProgress?.(p);
    },
  });
  return { outcome, events: sessionEvents(store.database, outcome.session_id), store, server, trailPath, progress };
}

export function c(e: TrailEventRow | undefined): Record<string, any> {
  if (!e) throw new Error("event missing");
  return JSON.parse(e.content);
}

export const ofType = (events: TrailEventRow[], type: string) => events.filter((e) => e.event_type === type);
