import * as path from "node:path";
import { deliverSessions } from "../otel/otlpDelivery";
import type { SessionSelection } from "../otel/otlpDelivery";
import { OtlpExportError } from "../otel/otlpExport";
import type { OtlpProtocol } from "../otel/otlpExport";
import { TrailReader } from "../trail/reading/trailReader";
import { plural } from "../shared/plural";
import type { ParsedArgs } from "./cliArgs";
import { listFlag, stringFlag, UsageError } from "./cliArgs";
import { openTrailForReading, resolveSession, trustStore, workspaceFrom } from "./trailLocation";
import { writeControl } from "./terminalOutput";

/** Headers from `--header K=V` (repeatable) and OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`, values URL-encoded). */
function headersOf(args: ParsedArgs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (process.env.OTEL_EXPORTER_OTLP_HEADERS ?? "").split(",").filter(Boolean)) {
    const i = pair.indexOf("=");
    if (i > 0) out[pair.slice(0, i).trim()] = decodeURIComponent(pair.slice(i + 1).trim());
  }
  for (const h of listFlag(args, "header")) {
    const i = h.indexOf("=");
    if (i <= 0) throw new UsageError(`--header takes NAME=VALUE, not "${h}"`);
    out[h.slice(0, i).trim()] = h.slice(i + 1);
  }
  return out;
}

/**
 * `agent-audit export <session | --since DATE | --all> --format otlp --endpoint URL [--header K=V]…`:
 * ended sessions as OTLP spans (GenAI conventions) to any OTLP/HTTP endpoint, each once per
 * endpoint (a cursor in the user's config folder remembers what was delivered).
 */
export async function otlpExportCommand(args: ParsedArgs, version: string): Promise<number> {
  const endpoint = stringFlag(args, "endpoint") ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) throw new UsageError("export --format otlp needs --endpoint URL (an OTLP/HTTP endpoint, e.g. http://localhost:4318)");
  const protocol = (stringFlag(args, "protocol") ?? "http/protobuf") as OtlpProtocol;
  if (protocol !== "http/protobuf" && protocol !== "http/json") throw new UsageError(`--protocol is http/protobuf or http/json, not "${protocol}"`);
  const { store } = await openTrailForReading(workspaceFrom(stringFlag(args, "workspace")));
  let select: SessionSelection;
  const since = stringFlag(args, "since");
  if (args.flags.has("all")) select = { all: true };
  else if (since !== undefined) {
    const t = Date.parse(since);
    if (!Number.isFinite(t)) throw new UsageError(`--since takes a date (2026-01-31), not "${since}"`);
    select = { since: new Date(t) };
  } else if (args.positionals.length) select = { sessionId: resolveSession(args, new TrailReader(store), "export") };
  else throw new UsageError("export --format otlp needs a session id, --since DATE or --all");
  const interactive = process.stderr.isTTY;
  try {
    const r = await deliverSessions({
      store,
      target: { endpoint, headers: headersOf(args), protocol },
      select,
      content: args.flags.has("content"),
      cursorDir: path.join(trustStore().dir, "otlp-cursors"),
      service: { name: "agent-audit-trail", version },
      onProgress: interactive ? (done, total) => (writeControl(process.stderr, "\r"), process.stderr.write(`exporting: ${done}/${total} sessions`)) : undefined,
    });
    if (interactive) process.stderr.write("\n");
    const notes = [
      r.alreadyDelivered ? `${plural(r.alreadyDelivered, "session")} already there` : "",
      r.running ? `${plural(r.running, "running session")} not sent yet (they go once they end)` : "",
    ].filter(Boolean);
    process.stdout.write(`Exported ${plural(r.sessions, "session")} (${plural(r.spans, "span")}) to ${endpoint}${notes.length ? `; ${notes.join("; ")}` : ""}.\n`);
    return 0;
  } catch (err) {
    if (interactive) process.stderr.write("\n");
    if (err instanceof OtlpExportError) {
      process.stderr.write(`agent-audit export: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
}
