import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { ToolError } from "../toolError";
import { configDir } from "../../trail/trust/signingKeyFile";
import { commandEnvironment } from "./commandEnvironment";
import { fencedCommand, sandboxPlan, sandboxStatus } from "./commandSandbox";
import type { LimitedOutput } from "../outputLimit";
import type { ToolDefinition } from "./toolDefinition";
import { HARD_OUTPUT_CEILING } from "./toolDefinition";

const DEFAULT_TIMEOUT_S = 60;
const MAX_TIMEOUT_S = 600;


/** Collects a stream, keeping the first `keep` bytes and hashing all of them. */
class CappedBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  total = 0;
  private readonly hash = createHash("sha256");
  constructor(private readonly keep: number) {}
  push(b: Buffer): void {
    this.total += b.length;
    this.hash.update(b);
    if (this.kept < this.keep) {
      const part = b.subarray(0, this.keep - this.kept);
      this.chunks.push(part);
      this.kept += part.length;
    }
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}

/**
 * Ends a command and everything it started: its process group on POSIX (the shell runs as a
 * group leader), the whole process tree on Windows.
 */
function killTree(pid: number | undefined, isWin: boolean): void {
  if (!pid) return;
  try {
    if (isWin) spawnSync("taskkill", ["/pid", String(pid), "/T", "/F"], { windowsHide: true, stdio: "ignore" });
    else process.kill(-pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

export const runCommandTool: ToolDefinition<{ command: string; timeout_seconds?: number }> = {
  name: "run_command",
  description:
    "Run a shell command in the workspace root and return its exit code, stdout and stderr. " +
    `Times out after timeout_seconds (default ${DEFAULT_TIMEOUT_S}, at most ${MAX_TIMEOUT_S}).`,
  kind: "execute",
  input_schema: {
    type: "object",
    properties: {
      command: { type: "string", description: "Shell command line (run with /bin/sh -c)" },
      timeout_seconds: { type: "number", minimum: 0.1, description: "Seconds before the command is stopped" },
    },
    required: ["command"],
    additionalProperties: false,
  },
  run(input, ctx) {
    const timeoutS = Math.min(input.timeout_seconds ?? DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S);
    if (!input.command.trim()) return Promise.reject(new ToolError("invalid_input", "command must not be empty"));
    if (ctx.signal.aborted) return Promise.reject(new ToolError("cancelled", "cancelled before the command started"));
    const env = commandEnvironment(process.env, ctx.commandEnv);
    return new Promise<LimitedOutput>((resolve, reject) => {
      const isWin = process.platform === "win32";
      // Inside the fence where the kernel allows one (see commandSandbox.ts): the command cannot
      // change the trail or the hook configurations, nor read the signing key.
      const fence = !isWin && sandboxStatus().available ? fencedCommand(input.command, sandboxPlan(ctx.root, configDir())) : undefined;
      const [file, args] = fence ? [fence.file, fence.args] : isWin ? ["cmd.exe", ["/d", "/s", "/c", input.command]] : ["/bin/sh", ["-c", input.command]];
      const child = spawn(file, args, {
        cwd: ctx.root,
        env,
        // Its own process group, so a timeout or cancel stops everything it started.
        detached: !isWin,
        stdio: ["ignore", "pipe", "pipe"],
        windowsHide: true,
      });
      const half = Math.max(1024, Math.floor(ctx.maxOutputBytes / 2));
      const out = new CappedBuffer(half);
      const err = new CappedBuffer(half);
      let stopped: "timeout" | "cancelled" | "output_limit" | undefined;
      const stop = (why: typeof stopped) => {
        if (stopped) return;
        stopped = why;
        killTree(child.pid, isWin);
      };
      const timer = setTimeout(() => stop("timeout"), timeoutS * 1000);
      const onAbort = () => stop("cancelled");
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const onData = (buf: CappedBuffer) => (b: Buffer) => {
        buf.push(b);
        if (out.total + err.total > HARD_OUTPUT_CEILING) stop("output_limit");
      };
      child.stdout!.on("data", onData(out));
      child.stderr!.on("data", onData(err));
      child.on("error", (e) => {
        clearTimeout(timer);
        ctx.signal.removeEventListener("abort", onAbort);
        reject(new ToolError("internal", `could not start the shell: ${e.message}`));
      });
      // The shell is done: whatever it left running in the background (`server &`, a daemon
      // that closed its output) goes too, so nothing the model started outlives its command.
      child.on("exit", () => killTree(child.pid, isWin));
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        ctx.signal.removeEventListener("abort", onAbort);
        const stdout = out.text();
        const stderr = err.text();
        const detail = {
          command: input.command,
          fence: fence ? "trust store hidden; trail and hook configurations read-only" : `none: ${sandboxStatus().reason}`,
          exit_code: code,
          signal,
          stdout,
          stderr,
          stdout_bytes: out.total,
          stderr_bytes: err.total,
        };
        if (stopped === "timeout") {
          return reject(new ToolError("timeout", `command did not finish within ${timeoutS} s and was stopped`, detail));
        }
        if (stopped === "cancelled") return reject(new ToolError("cancelled", "command was stopped because the session was cancelled", detail));
        if (stopped === "output_limit") {
          return reject(new ToolError("output_limit", `command wrote more than ${HARD_OUTPUT_CEILING} bytes and was stopped`, detail));
        }
        const body = `exit code ${code}\n--- stdout ---\n${stdout}${out.total > half ? `\n[stdout truncated: ${out.total} bytes]` : ""}\n--- stderr ---\n${stderr}${err.total > half ? `\n[stderr truncated: ${err.total} bytes]` : ""}`;
        if (code !== 0) return reject(new ToolError("command_failed", `command exited with code ${code ?? signal}`, detail));
        const truncated = out.total > half || err.total > half;
        resolve({
          text: body,
          truncated,
          original_bytes: out.total + err.total,
          original_sha256: createHash("sha256").update(out.digest() + err.digest()).digest("hex"),
        });
      });
    });
  },
  summarize: (input) => `$ ${input.command}${input.timeout_seconds ? `   (timeout ${input.timeout_seconds} s)` : ""}`,
};
