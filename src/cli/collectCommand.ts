import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { SecretRedactor } from "../agent/secretRedactor";
import type { RunningCollector } from "../otel/otlpCollector";
import { startCollector } from "../otel/otlpCollector";
import { privateSecret, StagingError } from "../otel/otlpStaging";
import type { ParsedArgs } from "./cliArgs";
import { intFlag, stringFlag, UsageError } from "./cliArgs";
import { openTrailForWriting, trailPathFor, trustStore, workspaceFrom } from "./trailLocation";

export const COLLECT_FLAGS = { values: ["workspace", "port", "token", "max-bytes"], booleans: ["no-token"] };

/**
 * `agent-audit collect [--port 4318] [--workspace DIR] [--token T | --no-token]`: an OTLP/HTTP
 * receiver on 127.0.0.1 that records other agents' GenAI spans and Claude Code's log events in
 * the trail, until Ctrl-C (which writes what is staged before exiting). Senders must present a
 * bearer token (by default one kept in the user's trust store folder, the same every run), so
 * that no other process on the machine can write sessions into the user's signed trail.
 */
export async function collectCommand(args: ParsedArgs): Promise<number> {
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  const port = intFlag(args, "port", 0) ?? 4318;
  const stateDir = trustStore().dir;
  const tokenFile = path.join(stateDir, "otlp-receiver.token");
  const noToken = args.flags.has("no-token");
  if (noToken && (stringFlag(args, "token") || process.env.AGENT_AUDIT_COLLECT_TOKEN)) throw new UsageError("--no-token and a token (--token or AGENT_AUDIT_COLLECT_TOKEN) contradict each other");
  let token: string | undefined;
  try {
    token = noToken ? undefined : stringFlag(args, "token") ?? process.env.AGENT_AUDIT_COLLECT_TOKEN ?? privateSecret(tokenFile, "receiver token", () => randomBytes(32).toString("base64url"));
  } catch (err) {
    throw new UsageError(`cannot use the receiver token: ${(err as Error).message}`);
  }
  const store = await openTrailForWriting(workspace, { create: true });
  // Listening for Ctrl-C before saying we are up: a Ctrl-C right after the first line still writes what is staged.
  const stopRequested = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const redactor = new SecretRedactor();
  let collector: RunningCollector;
  try {
    collector = await startCollector({
      store,
      trailPath: trailPathFor(workspace),
      stateDir,
      port,
      token,
      maxBytes: intFlag(args, "max-bytes", 1024),
      redact: (v) => redactor.redact(v),
      log: (m) => process.stderr.write(`${m}\n`),
    });
  } catch (err) {
    await store.close();
    if (err instanceof StagingError) throw new UsageError(`cannot stage received records: ${err.message}`);
    throw new UsageError(`cannot listen on 127.0.0.1:${port}: ${(err as Error).message}${(err as NodeJS.ErrnoException).code === "EADDRINUSE" ? " (another collector is running; use --port)" : ""}`);
  }
  const { url, receiver } = collector;
  const headers = token ? ` OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${token}"` : "";
  process.stdout.write(
    `Receiving OTLP/HTTP on ${url} (/v1/traces, /v1/logs; loopback only) into ${trailPathFor(workspace)}.\n` +
      (token
        ? `Senders must present the token (${stringFlag(args, "token") ? "--token" : process.env.AGENT_AUDIT_COLLECT_TOKEN ? "AGENT_AUDIT_COLLECT_TOKEN" : `kept in ${tokenFile}`}).\n`
        : "No token (--no-token): any process of any user on this machine can write sessions into this trail; web pages still cannot.\n") +
      `Point an agent at it, e.g. OTEL_EXPORTER_OTLP_ENDPOINT=${url} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf${headers}. Ctrl-C stops.\n`,
  );
  await stopRequested;
  await collector.stop();
  await store.close();
  process.stdout.write(`Stopped: ${receiver.received.spans} spans and ${receiver.received.logs} log records received, ${receiver.received.rejected} requests refused.\n`);
  return 0;
}
