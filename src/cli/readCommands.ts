import * as fs from "node:fs";
import * as path from "node:path";
import { inputSummary } from "../shared/inputSummary";
import { sessionEvents } from "../trail/reading/trailQueries";
import { TrailReader } from "../trail/reading/trailReader";
import type { TrailEventRow } from "../trail/reading/trailQueries";
import { ANCHOR_FORMAT, anchorPathFor } from "../trail/trust/anchorFile";
import type { ParsedArgs } from "./cliArgs";
import { UsageError, stringFlag } from "./cliArgs";
import { plural } from "../shared/plural";
import { renderSession } from "./sessionText";
import { content, firstLine, formatTokens, table } from "./textFormat";
import { openTrailForReading, openTrailForWriting, resolveSession, trailAbsent, trailPathFor, trustStore, workspaceFrom } from "./trailLocation";
import { verifyAtLocation } from "../trail/integrity/verifyAtLocation";
import { TrailStore } from "../trail/store/trailStore";
import { otlpExportCommand } from "./otlpExportCommand";

export const READ_FLAGS = { values: ["workspace", "format", "out", "anchor", "since", "archive"], booleans: ["json", "print", "strict"] };

/** An event as JSON: stored fields with content parsed, so it reads well and re-hashes exactly. */
function eventJson(e: TrailEventRow): Record<string, unknown> {
  return { ...e, content: JSON.parse(e.content) };
}

export async function sessionsCommand(args: ParsedArgs): Promise<number> {
  const { store } = await openTrailForReading(workspaceFrom(stringFlag(args, "workspace")));
  const sessions = new TrailReader(store).listSessions();
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(sessions, null, 2) + "\n");
    return 0;
  }
  if (!sessions.length) {
    process.stdout.write("No sessions yet.\n");
    return 0;
  }
  const rows = [["SESSION", "STARTED", "STATUS", "STEPS", "TOKENS", "FAILED", "TASK"]];
  for (const s of sessions) {
    // A received session (otel- ids, which our agent never gives) says so, and where it came from.
    const received = s.session_id.startsWith("otel-");
    rows.push([s.session_id.slice(0, received ? 13 : 8), s.started_at.replace("T", " ").slice(0, 19), s.status, String(s.steps),
      formatTokens(s.input_tokens + s.output_tokens), String(s.failed_tool_calls), `${received ? `(received from ${firstLine(s.agent_id, 30)}) ` : ""}${firstLine(s.task, 60)}`]);
  }
  process.stdout.write(table(rows) + "\n");
  return 0;
}

/** The session named by the first argument (an id, a unique prefix, or "latest"). */
export async function showCommand(args: ParsedArgs): Promise<number> {
  const { store } = await openTrailForReading(workspaceFrom(stringFlag(args, "workspace")));
  const reader = new TrailReader(store);
  const id = resolveSession(args, reader, "show");
  const events = sessionEvents(reader.sessionDatabase(id), id);
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(events.map(eventJson), null, 2) + "\n");
    return 0;
  }
  process.stdout.write(renderSession(reader.getSession(id)!, events) + "\n");
  return 0;
}

export async function failuresCommand(args: ParsedArgs): Promise<number> {
  const { store } = await openTrailForReading(workspaceFrom(stringFlag(args, "workspace")));
  const reader = new TrailReader(store);
  const failures = reader.failedToolCalls();
  if (args.flags.has("json")) {
    const out = failures.map((f) => ({
      session_id: f.result.session_id,
      step_number: f.result.step_number,
      event_id: f.result.event_id,
      tool_call_event_id: f.call?.event_id ?? null,
      timestamp: f.result.timestamp,
      tool_name: f.result.tool_name,
      error: content(f.result).error,
      input: f.call ? content(f.call).input : null,
    }));
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  }
  if (!failures.length) {
    process.stdout.write("No failed tool calls.\n");
    return 0;
  }
  const counts = reader.failureCounts().map((c) => `${c.tool_name} ${c.error_type} ×${c.count}`);
  process.stdout.write(`${plural(failures.length, "failed tool call")}: ${counts.join(", ")}\n\n`);
  // EVENT is what retry takes (a unique prefix is enough).
  const rows = [["WHEN", "EVENT", "SESSION", "STEP", "TOOL", "ERROR", "INPUT", "MESSAGE"]];
  for (const f of failures) {
    const c = content(f.result);
    rows.push([f.result.timestamp.replace("T", " ").slice(0, 19), (f.call ?? f.result).event_id.slice(0, 8), f.result.session_id.slice(0, 8), String(f.result.step_number),
      f.result.tool_name ?? "?", c.error?.type ?? "?", firstLine(inputSummary(f.result.tool_name, f.call ? content(f.call).input : null), 40),
      firstLine(c.error?.message, 70)]);
  }
  process.stdout.write(table(rows) + "\n");
  return 0;
}

export const EXPORT_FLAGS = {
  values: ["workspace", "format", "out", "endpoint", "header", "protocol", "since"],
  booleans: ["all", "content"],
  repeatable: ["header"],
};

export async function exportCommand(args: ParsedArgs, version = "unknown"): Promise<number> {
  const format = stringFlag(args, "format");
  if (format === "otlp") return otlpExportCommand(args, version);
  if (format !== "jsonl") throw new UsageError("export needs --format jsonl (one session's events) or --format otlp (sessions to an OpenTelemetry backend)");
  const { store } = await openTrailForReading(workspaceFrom(stringFlag(args, "workspace")));
  const reader = new TrailReader(store);
  const id = resolveSession(args, reader, "export");
  const lines = sessionEvents(reader.sessionDatabase(id), id).map((e) => JSON.stringify(eventJson(e))).join("\n") + "\n";
  const out = stringFlag(args, "out");
  if (out) {
    const folder = path.dirname(path.resolve(out));
    if (!fs.existsSync(folder)) throw new UsageError(`cannot write ${out}: the folder ${folder} does not exist`);
    try {
      fs.writeFileSync(out, lines);
    } catch (err) {
      throw new UsageError(`cannot write ${out}: ${(err as Error).message}`);
    }
    process.stderr.write(`Wrote ${plural(lines.split("\n").length - 1, "event")} of session ${id} to ${out}\n`);
  } else process.stdout.write(lines);
  return 0;
}

/** Exit code of `verify` for a trail that is consistent but that nothing outside it vouches for. */
export const EXIT_NOT_AUTHENTICATED = 3;

export async function verifyCommand(args: ParsedArgs): Promise<number> {
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  const file = trailPathFor(workspace);
  if (trailAbsent(workspace)) throw new UsageError(`no trail in ${workspace} (expected ${file}); run an agent there first`);
  let v;
  try {
    v = await verifyAtLocation(file, trustStore(), { anchorFile: stringFlag(args, "anchor"), sinceSeq: await sinceSeqOf(args, file), archiveDirs: archiveDirsOf(args) });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { report, open, anchorFile } = v;
  const strict = args.flags.has("strict");
  const code = !report.valid ? 1 : report.authenticated ? 0 : strict ? 1 : EXIT_NOT_AUTHENTICATED;
  const warnings = report.findings.filter((f) => f.severity === "warning").map((f) => `${f.category}: ${f.message}`);
  if (open.discardedBytes) warnings.push(`${open.discardedBytes} bytes at the end of the journal are an unfinished write (never acknowledged); they are not part of the trail`);
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify({ file, anchor: anchorFile ?? null, pinned: v.pinned, ...report, warnings }, null, 2) + "\n");
    return code;
  }
  const errors = report.findings.filter((f) => f.severity === "error");
  const segments = report.segments.checked + report.segments.pruned > 0 ? `, ${plural(report.segments.checked, "sealed segment")} checked` : "";
  const facts =
    `${plural(report.events, "event")}${report.fromSeq > 1 ? ` from seq ${report.fromSeq} (--since; what comes before is vouched for by its signed seal)` : ""}, ` +
    `chain intact up to seq ${report.head.seq} (head ${report.head.hash.slice(0, 16)}…)${segments}, ` +
    `${plural(report.checkpoints, "signed checkpoint")} up to seq ${report.lastSignedSeq}`;
  const ranges = report.provenance.map((r) => `  seq ${r.from}–${r.to}: ${r.who}\n`).join("");
  const unvouched = report.provenance.filter((r) => !r.vouched && !r.tail);
  if (!report.valid) {
    process.stdout.write(`Trail INVALID: ${plural(errors.length, "finding")}\n`);
    for (const f of errors) process.stdout.write(`  ${f.category}${f.seq !== undefined ? ` at seq ${f.seq}${f.toSeq !== undefined && f.toSeq !== f.seq ? `–${f.toSeq}` : ""}` : ""}: ${f.message}\n`);
    const accepted = trustStore().pins.read(file)?.accepted;
    if (accepted) process.stdout.write(`  (you accepted the findings up to seq ${accepted.head_seq} on ${accepted.at.slice(0, 10)} with "agent-audit trust accept": writers go on past them; they stay findings)\n`);
  } else if (report.authenticated) {
    process.stdout.write(`Trail valid and authenticated: ${facts}\n  vouched for by: ${report.trustRoots.join("; ")}\n${report.provenance.length > 1 ? ranges : ""}`);
  } else if (unvouched.length && report.provenance.some((r) => r.vouched)) {
    // A key you trust signed part of it: say which part, and that the rest is only consistent.
    process.stdout.write(
      `Trail consistent, but not authenticated: no key you trust vouches for ${unvouched.map((r) => `seq ${r.from}–${r.to}`).join(", ")} ` +
        `(a key vouches only for what its own writer appended, not for the history it found there).\n${ranges}  ${facts}${strict ? " (--strict: a failure)" : ""}\n`,
    );
  } else {
    process.stdout.write(
      `Trail consistent, but not authenticated: nothing outside this file vouches for it (no key you trust signed it, no anchor, no earlier pin of this location).\n` +
        `  ${facts}\n  Someone who rewrote the file and re-hashed it would get this same verdict. ` +
        `${v.pinned ? "It is now pinned: changes at this location from here on will be found." : ""}${strict ? " (--strict: a failure)" : ""}\n`,
    );
  }
  for (const f of report.findings.filter((x) => x.severity === "info")) process.stdout.write(`  ${f.message}\n`);
  process.stdout.write(`${file}\n`);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  return code;
}

export async function checkpointCommand(args: ParsedArgs): Promise<number> {
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  if (args.flags.has("print")) {
    const { store } = await openTrailForReading(workspace);
    const c = store.latestCheckpoint;
    if (!c) throw new UsageError("this trail has no signed checkpoint yet; run: agent-audit checkpoint");
    const key = store.database.exec("SELECT fingerprint, algorithm, public_key FROM keys WHERE fingerprint = ?", [c.key_fingerprint])[0]?.values[0];
    const note = store.database.exec("SELECT note FROM tree_heads WHERE checkpoint_no = ?", [c.checkpoint_no])[0]?.values[0]?.[0];
    const out = {
      format: ANCHOR_FORMAT,
      trail_id: c.trail_id,
      checkpoint: c,
      keys: key ? [{ fingerprint: key[0], algorithm: key[1], public_key: key[2] }] : [],
      ...(note ? { tree_note: String(note) } : {}),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  }
  const store = await openTrailForWriting(workspace);
  try {
    const before = store.latestCheckpoint?.checkpoint_no;
    const c = await store.checkpointNow();
    // A head already signed is not signed again: say so rather than claim a new signature.
    const verb = c && c.checkpoint_no !== before ? "Signed checkpoint" : "Already signed: checkpoint";
    process.stdout.write(`${verb} ${c!.checkpoint_no}: seq ${c!.seq}, head ${c!.head_hash.slice(0, 16)}…, key ${c!.key_fingerprint.slice(0, 16)}…\n`);
    process.stdout.write(`Anchor: ${anchorPathFor(trustStore().anchorsDir, c!.trail_id)} (keep a copy anywhere with: agent-audit checkpoint --print)\n`);
  } finally {
    await store.close();
  }
  return 0;
}

/** `--since 2026-01-31` (a date) or `--since 1200` (a seq): the first seq to verify from. */
async function sinceSeqOf(args: ParsedArgs, file: string): Promise<number | undefined> {
  const since = stringFlag(args, "since");
  if (since === undefined) return undefined;
  if (/^\d+$/.test(since)) return Math.max(1, Number(since));
  const t = Date.parse(since);
  if (!Number.isFinite(t)) throw new UsageError(`--since takes a date (2026-01-31) or a seq number, not "${since}"`);
  // The first segment sealed at or after the date holds every event from that date on.
  const { store } = await TrailStore.open(file, { readOnly: true, allowAlteredSchema: true });
  try {
    const iso = new Date(t).toISOString();
    const seal = store.seals.find((s) => s.sealed_at >= iso);
    return seal ? seal.first_seq : store.activeBase.seq + 1;
  } finally {
    await store.close();
  }
}

function archiveDirsOf(args: ParsedArgs): string[] | undefined {
  const dir = stringFlag(args, "archive");
  if (dir !== undefined && !fs.existsSync(dir)) throw new UsageError(`--archive ${dir}: no such folder`);
  return dir === undefined ? undefined : [dir];
}
