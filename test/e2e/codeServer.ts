import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..", "..", "..");
const TOOLS = path.join(REPO, ".tools", "e2e");
const NODE24 = path.join(TOOLS, "node_modules", "node", "bin", "node");
const ENTRY = path.join(TOOLS, "node_modules", "code-server", "out", "node", "entry.js");
export const VSIX = path.join(REPO, "agent-audit-trail.vsix");

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface CodeServer {
  url: string;
  /** code-server's pid, also its process group (the extension host is in it). */
  pid: number;
  userDataDir: string;
  extensionsDir: string;
  stop(): Promise<void>;
  /** code-server's own output, for failure reports. */
  output(): string;
}

/**
 * Starts a fresh code-server (own user data, extensions and config folders) with the
 * packaged VSIX installed, on a free port of 127.0.0.1. `env` reaches the extension host.
 */
export async function startCodeServer(opts: { root: string; settings: Record<string, unknown>; env?: Record<string, string | undefined> }): Promise<CodeServer> {
  if (!fs.existsSync(ENTRY) || !fs.existsSync(NODE24)) throw new Error("code-server is not provisioned: run test/e2e/provision.sh");
  const userDataDir = path.join(opts.root, "user-data");
  const extensionsDir = path.join(opts.root, "extensions");
  const configDir = path.join(opts.root, "config");
  fs.mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, "User", "settings.json"),
    JSON.stringify(
      {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": true,
        "extensions.autoUpdate": false,
        "extensions.autoCheckUpdates": false,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "window.restoreWindows": "none",
        ...opts.settings,
      },
      null,
      2,
    ),
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, XDG_CONFIG_HOME: configDir, ...opts.env })) if (v !== undefined) env[k] = v;
  env.PATH = `${path.dirname(NODE24)}:${env.PATH ?? ""}`;
  const install = spawnSync(NODE24, [ENTRY, "--user-data-dir", userDataDir, "--extensions-dir", extensionsDir, "--install-extension", VSIX], { env, encoding: "utf8" });
  if (install.status !== 0 || !/successfully installed/.test(install.stdout)) {
    throw new Error(`installing the VSIX failed:\n${install.stdout}\n${install.stderr}`);
  }
  const port = await freePort();
  let out = "";
  const child: ChildProcess = spawn(
    NODE24,
    [
      ENTRY,
      "--auth", "none",
      "--bind-addr", `127.0.0.1:${port}`,
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--user-data-dir", userDataDir,
      "--extensions-dir", extensionsDir,
    ],
    { env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not start within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    userDataDir,
    extensionsDir,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid!, "SIGTERM"); // its whole process group: extension host, pty host…
      } catch {
        /* gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The extension's log ("Agent Audit" output channel) as code-server wrote it to disk. */
export function extensionLog(userDataDir: string): string {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/Agent Audit/.test(e.name)) found.push(p);
    }
  };
  const logs = path.join(userDataDir, "logs");
  if (fs.existsSync(logs)) walk(logs);
  return found.map((f) => `--- ${f}\n${fs.readFileSync(f, "utf8")}`).join("\n");
}
