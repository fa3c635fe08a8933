import * as fs from "node:fs";
import * as path from "node:path";
import { ProcessLock } from "../trail/store/processLock";
import type { TrailStore } from "../trail/store/trailStore";
import { OtlpIngest } from "./otlpIngest";
import { StagingError, stagingFor } from "./otlpStaging";
import { OtlpReceiver } from "./otlpReceiver";

export interface CollectorOptions {
  store: TrailStore;
  /** The trail's file. */
  trailPath: string;
  /** The user's own state folder (the trust store's): received records are staged there until written, never in the workspace. */
  stateDir: string;
  port: number;
  /** The bearer token senders must present (Authorization: Bearer …); without one, any local process may write sessions. */
  token?: string;
  maxBytes?: number;
  /** Secret redaction (the agent's SecretRedactor, passed in: src/otel does not import src/agent). */
  redact: <T>(value: T) => Promise<T>;
  log: (message: string) => void;
}

export interface RunningCollector {
  url: string;
  receiver: OtlpReceiver;
  /** Stops listening and writes what is staged. */
  stop(): Promise<void>;
}

/**
 * The receiver and its ingest into `store`, as `agent-audit collect` and the extension run them:
 * every request redacted as a whole before anything of it is staged, then assembled into
 * sessions in the trail. When the port cannot be had it throws the listen error (its `code`
 * kept) and leaves nothing running. A staging file it cannot trust (a link, another user's)
 * throws a StagingError with what to do.
 */
export async function startCollector(o: CollectorOptions): Promise<RunningCollector> {
  warnOfWorkspaceStaging(o.trailPath, o.log);
  const staging = stagingFor(o.trailPath, o.stateDir);
  // One receiver per trail: each rewrites the staging file to what it has not written yet, so a
  // second one would drop the first one's acknowledged records.
  const lock = new ProcessLock(staging.file, "auto", true);
  if (!(await lock.tryAcquireNow())) {
    throw new StagingError("another receiver (agent-audit collect, or VS Code's) is already taking records into this trail; stop it first, or send to that one");
  }
  const ingest = new OtlpIngest({ store: o.store, staging, log: o.log });
  try {
    ingest.start();
  } catch (err) {
    lock.release();
    throw err;
  }
  const receiver = new OtlpReceiver({ ingest, port: o.port, token: o.token, maxBytes: o.maxBytes, redact: o.redact, log: o.log });
  try {
    const url = await receiver.start();
    return {
      url,
      receiver,
      stop: async () => {
        await receiver.stop();
        await ingest.stop();
        lock.release();
      },
    };
  } catch (err) {
    await ingest.stop();
    lock.release();
    throw err;
  }
}

/**
 * Earlier versions staged beside the trail, in the workspace, where a cloned repository can
 * ship the file (a link to ~/.bashrc, forged records): such a file is never read or written,
 * only mentioned, so the user knows it is there.
 */
function warnOfWorkspaceStaging(trailPath: string, log: (m: string) => void): void {
  const old = path.join(path.dirname(trailPath), "otlp-staging.jsonl");
  try {
    fs.lstatSync(old);
  } catch {
    return;
  }
  log(`[otlp] ignored ${old}: a staging file in the workspace is never taken up (a repository can ship one); received records are staged in your own state folder`);
}
