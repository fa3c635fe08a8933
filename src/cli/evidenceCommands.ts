import * as fs from "node:fs";
import * as path from "node:path";
import { anchorPathFor, readAnchor } from "../trail/trust/anchorFile";
import { writeEvidenceBundle } from "../trail/evidence/evidenceBundle";
import type { VerifierKey } from "../trail/integrity/c2spNote";
import type { VerifyBundleOptions } from "../trail/evidence/evidenceVerifier";
import { printVerdict, readAnchorArgument, readKeyArgument, verifyBundle } from "../trail/evidence/evidenceVerifier";
import { noteVerifierKey, rawEd25519, trailOrigin } from "../trail/integrity/signedNote";
import { sessionEvents } from "../trail/reading/trailQueries";
import { openForVerifying, verifyOpenTrail } from "../trail/integrity/verifyAtLocation";
import { unvouchedAmong } from "../trail/integrity/provenanceRanges";
import type { ParsedArgs } from "./cliArgs";
import { UsageError, intFlag, listFlag, stringFlag } from "./cliArgs";
import { TrailReader } from "../trail/reading/trailReader";
import { resolveSession, trailAbsent, trailPathFor, trustStore, workspaceFrom } from "./trailLocation";
import { plural } from "../shared/plural";
import { shellQuote } from "../shared/shellQuote";

export const EVIDENCE_FLAGS = { values: ["workspace", "out", "from", "to", "anchor"], booleans: [] };

/**
 * `agent-audit evidence <session-id | --from SEQ --to SEQ> --out DIR`: a bundle an auditor
 * checks with the standalone verifier inside it (see src/trail/evidence/evidenceBundle.ts). Only a
 * trail that verifies is exported: proofs about a damaged trail would prove the damage.
 */
export async function evidenceCommand(args: ParsedArgs): Promise<number> {
  const out = stringFlag(args, "out");
  if (!out) throw new UsageError("evidence needs --out DIR (a new or empty folder)");
  if (fs.existsSync(out) && fs.readdirSync(out).length) throw new UsageError(`${out} is not empty; give a new folder`);
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  const trust = trustStore();
  const file = trailPathFor(workspace);
  if (trailAbsent(workspace)) throw new UsageError(`no trail in ${workspace} (expected ${file})`);
  // One read of the trail: verified first (a bundle from a damaged trail would prove the
  // damage), then exported from the same in-memory copy.
  const { store, report: open } = await openForVerifying(file);
  try {
    const v = await verifyOpenTrail(store, open, trust);
    if (!v.report.valid) {
      process.stderr.write(`agent-audit evidence: the trail has ${plural(v.report.findings.filter((f) => f.severity === "error").length, "finding")}; run "agent-audit verify". No evidence is made from it.\n`);
      return 1;
    }
    const reader = new TrailReader(store);
    const from = intFlag(args, "from", 1);
    const to = intFlag(args, "to", 1);
    let seqs: number[];
    let what: string;
    let session: string | undefined;
    if (from !== undefined || to !== undefined) {
      if (args.positionals.length) throw new UsageError("give either a session id or --from/--to, not both");
      if (from === undefined || to === undefined || to < from) throw new UsageError("--from SEQ --to SEQ: both, with from ≤ to");
      if (to > store.head.seq) throw new UsageError(`the trail has ${store.head.seq} events; --to ${to} is past its end`);
      seqs = Array.from({ length: to - from + 1 }, (_, i) => from + i);
      what = `seq ${from}–${to}`;
    } else {
      const id = resolveSession(args, reader, "evidence");
      seqs = sessionEvents(reader.sessionDatabase(id), id).map((e) => e.seq);
      what = `session ${id}`;
      session = id;
    }
    // The bundle is signed with your key: it must not vouch for events no key you trust vouches for.
    const foreign = unvouchedAmong(v.report.provenance, seqs);
    if (foreign.length) {
      const r = foreign[0];
      process.stderr.write(
        `agent-audit evidence: ${what} has events in seq ${r.from}–${r.to}, which are not vouched for by a key you trust (${r.who}); ` +
          `a bundle signed with your key would vouch for them. No evidence is made; see "agent-audit verify".\n`,
      );
      return 1;
    }
    // The previous tree head: an anchor the auditor already holds (--anchor, as written by
    // `checkpoint --print`), else the one in the user's trust store.
    const anchorFile = stringFlag(args, "anchor") ?? anchorPathFor(trust.anchorsDir, store.trailId);
    let previous;
    try {
      previous = fs.existsSync(anchorFile) ? readAnchor(anchorFile) : undefined;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const r = writeEvidenceBundle({
      databases: reader.databases(),
      trailId: store.trailId,
      seqs,
      session,
      signer: trust.signer(),
      previous,
      verifierScript: path.join(__dirname, "verify-bundle.js"),
      out,
    });
    process.stdout.write(
      `Wrote ${plural(r.events, "event")} of ${what} to ${out}, proven in the Merkle tree of the trail's first ${r.treeSize} events` +
        `${r.previousSize ? `, with a consistency proof from the anchored tree head of ${r.previousSize} events` : ""}.\n` +
        `Signed with your key; give it to the auditor by a channel of your own (not with the bundle):\n  ${noteVerifierKey(trailOrigin(store.trailId), trust.signer().key.public_key)}\n` +
        `An auditor checks it with: agent-audit verify-evidence ${shellQuote(out)} --key KEY (or node ${shellQuote(path.join(out, "verify-bundle.js"))} ${shellQuote(out)} --key KEY)\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

export const VERIFY_EVIDENCE_FLAGS = { values: ["key", "anchor"], booleans: ["trust"], repeatable: ["key"] };

/**
 * `agent-audit verify-evidence DIR [--key K]... [--trust] [--anchor FILE]`: the bundle's own
 * check, with the signer judged by what the auditor holds: the keys given with --key, else
 * (or also, with --trust) the user's trust store; the earlier head from --anchor, else the
 * trust store's anchor of that trail when the bundle carries a proof from it.
 */
export async function verifyEvidenceCommand(args: ParsedArgs): Promise<number> {
  const dir = args.positionals[0];
  if (!dir) throw new UsageError("verify-evidence needs the bundle folder");
  if (!fs.existsSync(dir)) throw new UsageError(`${dir} does not exist`);
  const keys: VerifierKey[] = [];
  const publicKeys: Buffer[] = [];
  const given = listFlag(args, "key");
  try {
    for (const k of given) {
      const r = readKeyArgument(k);
      if (r.key) keys.push(r.key);
      if (r.publicKey) publicKeys.push(r.publicKey);
    }
  } catch (err) {
    throw new UsageError(`--key: ${(err as Error).message}`);
  }
  const trust = trustStore();
  if (!given.length || args.flags.has("trust")) for (const k of trust.trustedKeys()) publicKeys.push(rawEd25519(k.public_key));
  let anchor: VerifyBundleOptions["anchor"];
  const anchorFile = stringFlag(args, "anchor");
  try {
    if (anchorFile) anchor = { note: readAnchorArgument(anchorFile), source: anchorFile, required: true };
    else {
      const id = /^agent-audit\.local\/trail\/(\S+)$/.exec(fs.readFileSync(path.join(dir, "checkpoint.txt"), "utf8").split("\n")[0])?.[1];
      const own = id ? trust.anchorFor(id) : undefined;
      if (own?.anchor.tree_note) anchor = { note: own.anchor.tree_note, source: "your anchor of this trail", required: false };
    }
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return printVerdict(verifyBundle(dir, { keys, publicKeys, anchor }), keys.length + publicKeys.length);
}
