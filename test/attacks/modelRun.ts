// A run of the real CLI against the local Anthropic stand-in, for the attacks a model's own
// output can make: the CLI is dist/cli.js with a throwaway trust store and HOME.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import type { Scenario } from "../fakeAnthropic/scenario";
import { CLI } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

type T = { after(fn: () => unknown): void };

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A user with a throwaway HOME and trust store, and a workspace folder. */
export function userAndWorkspace(t: T): { env: Record<string, string>; ws: string } {
  const home = tempDir(t, "aat-home-");
  const ws = tempDir(t, "aat-ws-");
  fs.mkdirSync(path.join(home, ".config"), { recursive: true });
  return { env: { HOME: home, AGENT_AUDIT_CONFIG_DIR: path.join(home, ".config", "agent-audit") }, ws };
}

/** Starts the local Anthropic API with `scenario`; returns the env that points the CLI at it. */
export async function fakeApi(t: T, scenario: Scenario): Promise<{ server: FakeAnthropicServer; env: Record<string, string> }> {
  const server = new FakeAnthropicServer(scenario);
  const url = await server.start();
  t.after(() => server.stop());
  return { server, env: { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: url } };
}

/** Runs the CLI; stdout and stderr apart, as raw text (nothing decoded or cleaned). */
export function cli(args: string[], env: Record<string, string>, input = ""): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.end(input);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
  });
}

/** The events of one session as `show --json` gives them. */
export async function sessionEvents(ws: string, env: Record<string, string>, ref = "latest"): Promise<{ event_type: string; content: Record<string, any> }[]> {
  const r = await cli(["show", ref, "--workspace", ws, "--json"], env);
  if (r.code !== 0) throw new Error(`show failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
