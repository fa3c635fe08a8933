import * as fs from "node:fs";
import * as path from "node:path";
import { sha256Hex } from "../trail/integrity/hashChain";
import { pruneSegments } from "../trail/store/retention";
import type { SealRecord } from "../trail/store/segments";
import { sealSignatureValid, segmentBase } from "../trail/store/segments";
import { fingerprintOf } from "../trail/trust/signing";
import { loadSqlEngine } from "../trail/store/sqlEngine";
import { verifyTrail } from "../trail/integrity/verifyTrail";
import { MAX_SEGMENT_BYTES, MAX_SMALL_FILE_BYTES, readRegularFile } from "../trail/store/safeFiles";
import { plural } from "../shared/plural";
import type { ParsedArgs } from "./cliArgs";
import { stringFlag, UsageError } from "./cliArgs";
import { openTrailForWriting, trustStore, workspaceFrom } from "./trailLocation";

export const RETENTION_FLAGS = { values: ["workspace", "before", "to"], booleans: [] };

function beforeFlag(args: ParsedArgs, verb: string): Date {
  const v = stringFlag(args, "before");
  if (!v) throw new UsageError(`${verb} needs --before DATE (for example --before 2026-01-01): sealed segments older than that go`);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new UsageError(`--before takes a date (2026-01-01), not "${v}"`);
  return new Date(t);
}

/** `agent-audit prune --before DATE` and `agent-audit archive --before DATE --to DIR`. */
async function retention(args: ParsedArgs, archive: boolean): Promise<number> {
  const verb = archive ? "archive" : "prune";
  const before = beforeFlag(args, verb);
  const to = stringFlag(args, "to");
  if (archive && !to) throw new UsageError("archive needs --to DIR: the folder the sealed segments are moved to");
  if (!archive && to) throw new UsageError("prune deletes; to move segments elsewhere use: agent-audit archive --before DATE --to DIR");
  const store = await openTrailForWriting(workspaceFrom(stringFlag(args, "workspace")));
  try {
    const r = await pruneSegments(store, { before, archiveTo: to, user: process.env.USER ?? "", trustedKeys: trustStore().trustedKeys() });
    for (const k of r.kept) process.stderr.write(`kept ${k}\n`);
    if (!r.segments.length) {
      process.stdout.write(`Nothing to ${verb}: no sealed, signed segment was sealed before ${before.toISOString()}.\n`);
      return 0;
    }
    const first = r.segments[0].first_seq;
    const last = r.segments[r.segments.length - 1].last_seq;
    const mb = r.segments.reduce((n, s) => n + s.bytes, 0) / 1048576;
    process.stdout.write(
      `${archive ? "Archived" : "Pruned"} ${plural(r.segments.length, "sealed segment")} (seq ${first}–${last}, ${mb.toFixed(1)} MB)` +
        `${r.archivedTo ? ` to ${r.archivedTo}` : ""}. The pruning is recorded in the trail and signed; "agent-audit verify" reports it as PRUNED` +
        `${r.archivedTo ? `, and checks the archive with --archive ${r.archivedTo}` : ""}.\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

export const pruneCommand = (args: ParsedArgs) => retention(args, false);
export const archiveCommand = (args: ParsedArgs) => retention(args, true);

/**
 * `agent-audit verify-segment FILE`: an archived segment on its own, with the seal kept beside
 * it (seg-NNNNNN.seal.json): the file is the one sealed, the seal's signature holds, and the
 * events chain from the seal's first link to its last hash with their checkpoints intact.
 */
export async function verifySegmentCommand(args: ParsedArgs): Promise<number> {
  const file = args.positionals[0];
  if (!file) throw new UsageError("verify-segment needs a segment file (seg-NNNNNN.db, with its .seal.json beside it)");
  const sealFile = file.replace(/\.db$/, ".seal.json");
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
  if (!fs.existsSync(sealFile)) throw new UsageError(`${sealFile} is missing: "agent-audit archive" writes it beside each segment`);
  let seal: SealRecord;
  let key: { fingerprint: string; public_key: string } | null;
  try {
    ({ seal, key } = JSON.parse(readRegularFile(sealFile, MAX_SMALL_FILE_BYTES).toString("utf8")) as { seal: SealRecord; key: { fingerprint: string; public_key: string } | null });
  } catch (err) {
    throw new UsageError(`${sealFile} is not a seal file: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  // The file may come from anywhere (an archive folder someone handed over): bounded, no FIFO, no link.
  const bytes = readRegularFile(file, MAX_SEGMENT_BYTES);
  if (sha256Hex(bytes) !== seal.file_sha256) problems.push(`${path.basename(file)} is not the file that was sealed (SHA-256 differs)`);
  const trusted = trustStore().trustedKeys();
  const trustedKey = trusted.find((k) => k.fingerprint === seal.key_fingerprint);
  const pem = trustedKey?.public_key ?? key?.public_key;
  if (!pem || fingerprintOf(pem) !== seal.key_fingerprint || !sealSignatureValid(seal, pem)) problems.push("the seal's signature does not verify");
  const sql = await loadSqlEngine();
  const db = new sql.Database(bytes);
  try {
    const base = segmentBase(db);
    const report = verifyTrail(db, { sql, sinceSeq: base.seq + 1, trustedKeys: trusted });
    for (const f of report.findings.filter((x) => x.severity === "error")) problems.push(`${f.category}${f.seq !== undefined ? ` at seq ${f.seq}` : ""}: ${f.message}`);
    if (base.seq + 1 !== seal.first_seq || base.hash !== seal.first_prev_hash) problems.push(`it starts after seq ${base.seq}, its seal says after seq ${seal.first_seq - 1}`);
    if (report.head.seq !== seal.last_seq || report.head.hash !== seal.last_hash) problems.push(`it ends at seq ${report.head.seq}, its seal says seq ${seal.last_seq}`);
    if (problems.length) {
      process.stdout.write(`Segment INVALID: ${plural(problems.length, "finding")}\n${problems.map((p) => `  ${p}\n`).join("")}${file}\n`);
      return 1;
    }
    // A seal signs the whole segment; its key vouches only for what its writers appended.
    const unvouched = report.provenance.filter((r) => !r.vouched && !r.tail && r.to >= seal.first_seq);
    process.stdout.write(
      `Segment ${seal.segment_no} valid: seq ${seal.first_seq}–${seal.last_seq} of trail ${seal.trail_id}, sealed ${seal.sealed_at}, ` +
        `signed by ${seal.key_fingerprint?.slice(0, 16)}…${trustedKey ? " (a key you trust)" : " (not a key you trust: compare it with the trail owner's)"}\n` +
        unvouched.map((r) => `  seq ${Math.max(r.from, seal.first_seq)}–${r.to}: ${r.who}\n`).join("") +
        `${file}\n`,
    );
    return trustedKey && !unvouched.length ? 0 : 3;
  } finally {
    db.close();
  }
}
