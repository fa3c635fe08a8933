import * as path from "node:path";
import type { TrailStore } from "../trail/trailStore";
import { OtlpIngest } from "./otlpIngest";
import { OtlpReceiver } from "./otlpReceiver";

export interface CollectorOptions {
  store: TrailStore;
  /** The trail's file: received records are staged beside it (otlp-staging.jsonl) until written. */
  trailPath: string;
  port: number;
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
 * kept) and leaves nothing running.
 */
export async function startCollector(o: CollectorOptions): Promise<RunningCollector> {
  const ingest = new OtlpIngest({ store: o.store, stagingFile: path.join(path.dirname(o.trailPath), "otlp-staging.jsonl"), log: o.log });
  ingest.start();
  const receiver = new OtlpReceiver({ ingest, port: o.port, token: o.token, maxBytes: o.maxBytes, redact: o.redact, log: o.log });
  try {
    const url = await receiver.start();
    return {
      url,
      receiver,
      stop: async () => {
        await receiver.stop();
        await ingest.stop();
      },
    };
  } catch (err) {
    await ingest.stop();
    throw err;
  }
}
