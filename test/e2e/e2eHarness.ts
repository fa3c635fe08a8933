import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import type { Scenario } from "../fakeAnthropic/scenario";
import type { CodeServer } from "./codeServer";
import { extensionLog, REPO, startCodeServer } from "./codeServer";
import { Workbench } from "./workbench";

export interface E2E {
  /** The workspace folder open in VS Code (a copy of demo/sample-project). */
  ws: string;
  trailPath: string;
  wb: Workbench;
  api: FakeAnthropicServer;
  cs: CodeServer;
}

export const RESULTS = path.join(REPO, "test-results", "e2e");
/**
 * Where tests put the README's screenshots: an ignored folder, so a test run never modifies
 * tracked files. `npm run screenshots` copies them into docs/images when someone means to.
 */
export const DOC_IMAGES = path.join(REPO, "test-results", "screenshots");

/**
 * One end-to-end test: a fresh workspace, the local Anthropic API with `scenario`, a fresh
 * code-server with the packaged extension, and a browser on it. Everything it starts it
 * stops (code-server by process group). When the test fails, a screenshot, the extension's
 * log and code-server's output are left in test-results/e2e/<test>/.
 */
export function e2eTest(
  name: string,
  opts: {
    scenario: Scenario;
    settings?: Record<string, unknown>;
    apiKey?: string | null;
    /** Extra environment for code-server and its extension host. */
    env?: Record<string, string>;
    /** Runs on the workspace before VS Code opens it; may return a clean-up (run before the folder is removed). */
    prepare?: (ws: string) => Promise<(() => void) | void> | (() => void) | void;
  },
  body: (e: E2E) => Promise<void>,
): void {
  test(name, { timeout: 240_000 }, async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "aat-e2e-"));
    const ws = path.join(root, "workspace");
    fs.cpSync(path.join(REPO, "demo", "sample-project"), ws, { recursive: true });
    const api = new FakeAnthropicServer(opts.scenario);
    const apiUrl = await api.start();
    let cs: CodeServer | undefined;
    let wb: Workbench | undefined;
    let cleanup: (() => void) | void = undefined;
    try {
      cleanup = await opts.prepare?.(ws);
      cs = await startCodeServer({
        root,
        settings: { "agentAudit.anthropicBaseUrl": apiUrl, ...opts.settings },
        // The key reaches the extension host through the environment (the SecretStorage
        // path is what the missing-key test exercises).
        env: { ANTHROPIC_API_KEY: opts.apiKey === null ? undefined : (opts.apiKey ?? "test-key-e2e"), ANTHROPIC_BASE_URL: undefined, ...opts.env },
      });
      wb = await Workbench.open(cs.url, ws);
      await body({ ws, trailPath: path.join(ws, ".agent-audit", "trail.db"), wb, api, cs });
    } catch (err) {
      const dir = path.join(RESULTS, name.replace(/[^a-z0-9]+/gi, "-").toLowerCase());
      fs.mkdirSync(dir, { recursive: true });
      await wb?.screenshot(path.join(dir, "failure.png")).catch(() => undefined);
      if (cs) {
        fs.writeFileSync(path.join(dir, "extension.log"), extensionLog(cs.userDataDir));
        fs.writeFileSync(path.join(dir, "code-server.log"), cs.output());
      }
      throw err;
    } finally {
      await wb?.close().catch(() => undefined);
      await cs?.stop().catch(() => undefined);
      await api.stop();
      cleanup?.();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}

/** Polls `check` until it returns a truthy value. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
