import * as fs from "node:fs";
import type { ParsedArgs } from "./cliArgs";
import { UsageError, stringFlag } from "./cliArgs";
import { openTrailForWriting, trailAbsent, trailPathFor, trustStore, workspaceFrom } from "./trailLocation";
import { advancePin, canonicalLocation } from "../trail/trust/pins";
import { verifyAtLocation } from "../trail/integrity/verifyAtLocation";
import { plural } from "../shared/plural";

export const TRUST_FLAGS = { values: ["workspace"], booleans: ["json"] };

/**
 * `agent-audit trust add FILE | list | forget [--workspace DIR] | rotate-key`: the user's
 * trust store, shared with the extension (see src/trail/trust/trustStore.ts).
 */
export async function trustCommand(args: ParsedArgs): Promise<number> {
  const [sub, arg, ...extra] = args.positionals;
  const trust = trustStore();
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"; see: agent-audit --help`);
  switch (sub) {
    case "add": {
      if (!arg) throw new UsageError("trust add needs a file: an anchor (agent-audit checkpoint --print > anchor.json) or a PEM public key");
      if (!fs.existsSync(arg)) throw new UsageError(`${arg} does not exist`);
      let keys;
      try {
        keys = trust.addTrustedFrom(arg);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      for (const k of keys) process.stdout.write(`Trusted key ${k.fingerprint}\n`);
      return 0;
    }
    case "list": {
      const own = trust.existingSigner()?.key.fingerprint;
      const keys = trust.trustedKeys();
      if (args.flags.has("json")) {
        process.stdout.write(JSON.stringify({ dir: trust.dir, signing_key: own ?? null, trusted: keys.map((k) => k.fingerprint) }, null, 2) + "\n");
        return 0;
      }
      process.stdout.write(`Trust store: ${trust.dir}\n`);
      process.stdout.write(own ? `Your signing key: ${own}\n` : "No signing key yet (one is made when you first run an agent or sign a checkpoint).\n");
      for (const k of keys) if (k.fingerprint !== own) process.stdout.write(`Trusted: ${k.fingerprint}\n`);
      return 0;
    }
    case "forget": {
      if (arg) throw new UsageError(`unexpected argument "${arg}"; trust forget takes --workspace DIR`);
      const file = trailPathFor(workspaceFrom(stringFlag(args, "workspace")));
      const had = trust.pins.forget(file);
      process.stdout.write(had ? `Forgot the pin of ${file}: the next verify or run pins what is there now.\n` : `No pin for ${file}.\n`);
      return 0;
    }
    case "accept":
      if (arg) throw new UsageError(`unexpected argument "${arg}"; trust accept takes --workspace DIR`);
      return acceptFindings(workspaceFrom(stringFlag(args, "workspace")));
    case "rotate-key": {
      const r = trust.rotateKey();
      process.stdout.write(`New signing key ${r.current}${r.retired ? `; the old one (${r.retired}) stays trusted, so its checkpoints keep verifying` : ""}\n`);
      return 0;
    }
    default:
      throw new UsageError(`trust needs one of: add FILE, list, forget [--workspace DIR], accept [--workspace DIR], rotate-key${sub ? ` (not "${sub}")` : ""}`);
  }
}

/**
 * `agent-audit trust accept [--workspace DIR]`: the user looked at what verify reports and wants
 * to go on writing to this trail. The findings are recorded in the user's pin (writers go on
 * past them, never past new ones) and, signed, in the trail itself as a session of their own.
 * verify keeps reporting them.
 */
async function acceptFindings(workspace: string): Promise<number> {
  const file = trailPathFor(workspace);
  if (trailAbsent(workspace)) throw new UsageError(`no trail in ${workspace} (expected ${file})`);
  const trust = trustStore();
  const { report } = await verifyAtLocation(file, trust);
  const errors = report.findings.filter((f) => f.severity === "error");
  if (!errors.length) {
    process.stdout.write(`Nothing to accept: verify finds no problem in ${file}.\n`);
    return 0;
  }
  const now = new Date().toISOString();
  const described = errors.map((f) => `${f.category}${f.seq !== undefined ? ` at seq ${f.seq}` : ""}: ${f.message}`);
  const state = { location: canonicalLocation(file), trailId: report.trailId, headSeq: report.head.seq, headHash: report.head.hash, hashAt: () => undefined, checkpoints: report.checkpoints, keys: report.checkpointKeys };
  const old = trust.pins.read(file);
  const pin = old && old.trail_id === report.trailId ? { ...old } : advancePin(undefined, state, now);
  pin.accepted = { head_seq: report.head.seq, head_hash: report.head.hash, checkpoints: report.checkpoints, at: now, findings: described };
  trust.pins.write(pin);
  const store = await openTrailForWriting(workspace);
  const session = `accept-findings-${now.replace(/[:.]/g, "-")}`;
  try {
    const base = { session_id: session, agent_id: "agent-audit", user_id: process.env.USER ?? "" };
    await store.append({ ...base, event_type: "session_start", content: { task: `Accept ${plural(errors.length, "finding")} of this trail and go on writing to it` } });
    await store.append({ ...base, event_type: "findings_accepted", step_number: 1, content: { head_seq: report.head.seq, head_hash: report.head.hash, findings: described, key_fingerprint: store.signerKey?.fingerprint ?? null } });
    await store.append({ ...base, event_type: "session_end", step_number: 1, content: { outcome: "completed", final_text: `Accepted ${plural(errors.length, "finding")}` } });
  } finally {
    await store.close();
  }
  process.stdout.write(
    `Accepted ${plural(errors.length, "finding")} of ${file} (up to seq ${report.head.seq}): writers go on past them, not past new ones; ` +
      `verify keeps reporting them. Recorded in the trail as session ${session}, signed by your key.\n`,
  );
  return 0;
}
