import { SecretRedactor } from "../agent/secretRedactor";
import type { RunningCollector } from "../otel/otlpCollector";
import { startCollector } from "../otel/otlpCollector";
import type { ParsedArgs } from "./cliArgs";
import { intFlag, stringFlag, UsageError } from "./cliArgs";
import { openTrailForWriting, trailPathFor, workspaceFrom } from "./trailLocation";

export const COLLECT_FLAGS = { values: ["workspace", "port", "token", "max-bytes"], booleans: [] };

/**
 * `agent-audit collect [--port 4318] [--workspace DIR] [--token T]`: an OTLP/HTTP receiver on
 * 127.0.0.1 that records other agents' GenAI spans and Claude Code's log events in the trail,
 * until Ctrl-C (which writes what is staged before exiting).
 */
export async function collectCommand(args: ParsedArgs): Promise<number> {
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  const port = intFlag(args, "port", 0) ?? 4318;
  const store = await openTrailForWriting(workspace);
  const redactor = new SecretRedactor();
  let collector: RunningCollector;
  try {
    collector = await startCollector({
      store,
      trailPath: trailPathFor(workspace),
      port,
      token: stringFlag(args, "token") ?? process.env.AGENT_AUDIT_COLLECT_TOKEN,
      maxBytes: intFlag(args, "max-bytes", 1024),
      redact: (v) => redactor.redact(v),
      log: (m) => process.stderr.write(`${m}\n`),
    });
  } catch (err) {
    await store.close();
    throw new UsageError(`cannot listen on 127.0.0.1:${port}: ${(err as Error).message}${(err as NodeJS.ErrnoException).code === "EADDRINUSE" ? " (another collector is running; use --port)" : ""}`);
  }
  const { url, receiver } = collector;
  process.stdout.write(
    `Receiving OTLP/HTTP on ${url} (/v1/traces, /v1/logs; loopback only) into ${trailPathFor(workspace)}.\n` +
      `Point an agent at it, e.g. OTEL_EXPORTER_OTLP_ENDPOINT=${url} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf. Ctrl-C stops.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await collector.stop();
  await store.close();
  process.stdout.write(`Stopped: ${receiver.received.spans} spans and ${receiver.received.logs} log records received, ${receiver.received.rejected} requests refused.\n`);
  return 0;
}
