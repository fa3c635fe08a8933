// What a hostile repository ships under .agent-audit/, and how a test watches what the CLI
// does with it: a trail made by someone else (with a key of their own, or none), the user's own
// sealed trail signed with the key in the throwaway trust store, a bounded CLI run (a hang or
// a runaway allocation fails the test, not the suite) and a fingerprint of a folder outside.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import type { CheckpointSigner } from "../../src/trail/trust/signing";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { CLI } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

type T = { after(fn: () => void): void };

/** A workspace, the user's throwaway HOME and trust store, and a folder outside both. */
export function scene(t: T): { root: string; ws: string; home: string; config: string; outside: string } {
  const root = tempDir(t, "aat-repo-");
  const ws = path.join(root, "clone");
  const home = path.join(root, "home");
  const config = path.join(home, ".config", "agent-audit");
  const outside = path.join(root, "outside");
  for (const d of [ws, config, outside]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(ws, "README.md"), "# A cloned project\n");
  return { root, ws, home, config, outside };
}

export function trailDir(ws: string): string {
  return path.join(ws, ".agent-audit");
}

/**
 * A trail as someone else's tools wrote it: `signer` (theirs) or none; with `sealBytes` small,
 * sealed into segments. Sessions of a few steps with failures, like a real agent's.
 */
export async function foreignTrail(ws: string, opts: { signer?: CheckpointSigner | "none"; sealBytes?: number; sessions?: number } = {}): Promise<{ trailPath: string; signer?: CheckpointSigner }> {
  const trailPath = path.join(trailDir(ws), "trail.db");
  const signer = opts.signer === "none" ? undefined : (opts.signer ?? ed25519Signer(generateSigningKey()));
  const { store } = await TrailStore.open(trailPath, { signer, sealBytes: opts.sealBytes ?? 0, checkpointEvery: 20 });
  for (let i = 0; i < (opts.sessions ?? 1); i++) {
    await appendLinked(store, sessionEvents({ task: `task ${i}`, steps: 6, failures: 1, outputBytes: 800 }), 8);
    await store.flush();
  }
  await store.close();
  return { trailPath, signer };
}

/** The user's own trail, sealed into segments, signed with the key of the user's trust store. */
export async function ownSealedTrail(ws: string, config: string): Promise<{ trailPath: string; seals: number }> {
  const signer = new TrustStore(config).signer();
  const { trailPath } = await foreignTrail(ws, { signer, sealBytes: 40_000, sessions: 4 });
  const { store } = await TrailStore.open(trailPath, { readOnly: true });
  const seals = store.seals.length;
  await store.close();
  return { trailPath, seals };
}

export interface BoundedRun {
  code: number | null;
  out: string;
  /** The run was killed: it hung past the timeout or its memory passed the limit. */
  killed?: "timeout" | "memory";
  peakRssMb: number;
}

/**
 * Runs the built CLI with the user's HOME and trust store; kills it after `timeoutMs` or once
 * its resident memory passes `maxRssMb` (polled), so a hang or an unbounded read is a failed
 * assertion with a reason.
 */
export function cliBounded(args: string[], s: { home: string; config: string }, opts: { env?: Record<string, string>; timeoutMs?: number; maxRssMb?: number } = {}): Promise<BoundedRun> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = { ...process.env, HOME: s.home, AGENT_AUDIT_CONFIG_DIR: s.config, XDG_CONFIG_HOME: undefined, ...opts.env };
    if (!opts.env?.ANTHROPIC_API_KEY) delete env.ANTHROPIC_API_KEY;
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let killed: BoundedRun["killed"];
    let peak = 0;
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    const kill = (why: BoundedRun["killed"]) => {
      killed ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => kill("timeout"), opts.timeoutMs ?? 20_000);
    const poll = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        if (peak > (opts.maxRssMb ?? 700)) kill("memory");
      } catch {
        /* exited */
      }
    }, 25);
    child.on("close", (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, out, killed, peakRssMb: Math.round(peak) });
    });
  });
}

/** Every file under `dir` (links not followed) with its type, size and content hash: to assert nothing changed there. */
export function fingerprint(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) {
        lines.push(`${p}/`);
        walk(p);
      } else if (st.isFile()) lines.push(`${p} ${st.size} ${createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`);
      else lines.push(`${p} ${st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : "special"}`);
    }
  };
  walk(dir);
  return lines.join("\n");
}

/** One line of the CLI's answer that says what was refused, without a stack trace. */
export function assertOneClearLine(out: string, pattern: RegExp): void {
  if (!pattern.test(out)) throw new Error(`expected ${pattern} in:\n${out}`);
  if (/\n\s+at .+:\d+:\d+/.test(out)) throw new Error(`a stack trace reached the user:\n${out}`);
}
