import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import * as path from "node:path";

export interface Ack {
  seq: number;
  hash: string;
  eventId: string;
}

export interface RunningAppender {
  child: ChildProcess;
  acks: Ack[];
  /** Resolves with the exit code (or signal name) and stderr when the child ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once the child has acknowledged at least one event. */
  firstAck: Promise<void>;
}

/** Starts a process that appends `count` events to the trail and reports each acknowledgement. */
export function startAppender(
  trailPath: string,
  count: number,
  tag: string,
  mode: "serial" | "burst",
  snapshotEveryBytes = 0,
  env: Record<string, string> = {},
  /** A command the child runs under (`["unshare", "-n"]`: another network namespace). */
  prefix: string[] = [],
): RunningAppender {
  const script = path.join(__dirname, "appenderChild.js");
  const argv = [process.execPath, script, trailPath, String(count), tag, mode];
  const child = spawn(prefix[0] ?? argv[0], [...prefix.slice(1), ...(prefix.length ? argv : argv.slice(1))], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, AAT_SNAPSHOT_EVERY_BYTES: String(snapshotEveryBytes), ...env },
  });
  const acks: Ack[] = [];
  let stderr = "";
  let buffered = "";
  let onFirst: () => void = () => undefined;
  const firstAck = new Promise<void>((r) => (onFirst = r));
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const m = /^ack (\d+) ([0-9a-f]{64}) (\S+)$/.exec(line);
      if (m) {
        acks.push({ seq: Number(m[1]), hash: m[2], eventId: m[3] });
        onFirst();
      }
    }
  });
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => {
      onFirst();
      resolve({ code, signal, stderr });
    }),
  );
  return { child, acks, exited, firstAck };
}
