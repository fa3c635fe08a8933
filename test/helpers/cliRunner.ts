import { spawn } from "node:child_process";
import * as path from "node:path";

export const CLI = path.resolve(__dirname, "..", "..", "..", "dist", "cli.js");

/** Runs the built CLI asynchronously with a trust store of its own (`config`); stdout and stderr together. */
export function runCli(args: string[], config: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: config, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}
