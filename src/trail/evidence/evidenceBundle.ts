import * as fs from "node:fs";
import * as path from "node:path";
import type { Database } from "sql.js";
import type { AnchorFile } from "../trust/anchorFile";
import type { EventRecord } from "../store/eventTypes";
import { canonicalEventText } from "../integrity/hashChain";
import { parseCheckpoint } from "../integrity/c2spNote";
import type { Coverage } from "./evidenceVerifier";
import { coverageLine } from "./evidenceVerifier";
import { TERMINAL_EVENT_TYPES } from "../store/eventTypes";
import { seqListDigest } from "../integrity/proofCheck";
import { checkpointBody, noteVerifierKey, signNote, trailOrigin } from "../integrity/signedNote";
import type { CheckpointSigner } from "../trust/signing";
import { leafHash, MerkleTree } from "../integrity/merkle";
import { EVENT_RECORD_FIELDS } from "../store/trailColumns";

export const BUNDLE_FORMAT = "agent-audit-evidence/2";

export interface BundleRequest {
  /** The trail's segments in seq order (sealed ones, then the active one): TrailReader.databases(). */
  databases: Iterable<{ db: Database }>;
  trailId: string;
  /** The events to prove, by seq, ascending: a session's (`session` set), or a range. */
  seqs: number[];
  /** The session the events are all of; without it, `seqs` is a range of consecutive seqs. */
  session?: string;
  /** Signs the tree head: the exporting user's key. */
  signer: CheckpointSigner;
  /** The previous anchored tree head, if any (the anchor's signed note). */
  previous?: AnchorFile;
  /** The standalone verifier to ship (dist/verify-bundle.js). */
  verifierScript: string;
  out: string;
}


/**
 * Writes an evidence bundle an auditor checks without us (see evidenceVerifier.ts):
 *   events.jsonl    the events, each line exactly the bytes that were hashed (canonical JSON)
 *   checkpoint.txt  a C2SP tlog-checkpoint (origin, tree size, Merkle root) in a C2SP signed note
 *   vkey.txt        the note verifier key of the signer (Ed25519)
 *   proofs.json     an RFC 9162 inclusion proof per event; a consistency proof from the previous
 *                   anchored tree head when there is one
 *   verify-bundle.js, README.txt
 * The tree covers the whole trail up to its head, so the bundle also commits to how many
 * events came before and after the ones it shows.
 */
export function writeEvidenceBundle(req: BundleRequest): { treeSize: number; events: number; dir: string; previousSize?: number } {
  if (!req.seqs.length) throw new Error("no events to put in the bundle");
  req = { ...req, seqs: [...req.seqs].sort((a, b) => a - b) };
  // One pass over the segments (one held at a time): every leaf of the tree, and the wanted events.
  const tree = new MerkleTree();
  const wanted = new Set(req.seqs);
  const texts = new Map<number, string>();
  const types = new Map<number, string>();
  const first = req.seqs[0];
  // Other sessions' events within the span: their leaf hashes only (nothing of them disclosed).
  const leaves = new Map<number, Buffer>();
  for (const { db } of req.databases) {
    const stmt = db.prepare(`SELECT ${EVENT_RECORD_FIELDS} FROM events ORDER BY seq`);
    try {
      while (stmt.step()) {
        const e = stmt.getAsObject() as unknown as EventRecord;
        if (e.seq !== tree.size + 1) throw new Error(`the trail is not whole at seq ${tree.size + 1} (pruned or damaged): run "agent-audit verify"`);
        const text = canonicalEventText(e);
        const leaf = leafHash(text);
        tree.append(leaf);
        if (wanted.has(e.seq)) {
          texts.set(e.seq, text);
          types.set(e.seq, e.event_type);
        } else if (req.session !== undefined && e.seq > first) leaves.set(e.seq, leaf);
      }
    } finally {
      stmt.free();
    }
  }
  const size = tree.size;
  const origin = trailOrigin(req.trailId);
  const lines = req.seqs.map((seq) => {
    const text = texts.get(seq);
    if (text === undefined) throw new Error(`event ${seq} is not in the trail`);
    return text;
  });
  const b64 = (b: Buffer) => b.toString("base64");
  const last = req.seqs[req.seqs.length - 1];
  let coverage: Coverage;
  if (req.session !== undefined) {
    // Ended: the span ends at its terminal event. Still running: at the tree's end, so that the
    // bundle also shows the session had no later event.
    const ended = TERMINAL_EVENT_TYPES.includes(types.get(last) ?? "");
    coverage = { kind: "session", sessionId: req.session, from: first, to: ended ? last : size, ended, seqsDigest: seqListDigest(req.seqs) };
  } else {
    if (last - first + 1 !== req.seqs.length) throw new Error("a range bundle holds consecutive seqs");
    coverage = { kind: "range", from: first, to: last };
  }
  const others: { seq: number; leaf: string; inclusion: string[] }[] = [];
  for (let seq = first; seq <= coverage.to; seq++) {
    const leaf = leaves.get(seq);
    if (leaf) others.push({ seq, leaf: b64(leaf), inclusion: tree.inclusionProof(seq - 1, size).map(b64) });
  }
  const proofs: Record<string, unknown> = {
    format: BUNDLE_FORMAT,
    tree_size: size,
    leaves: req.seqs.map((seq) => ({ seq, index: seq - 1, inclusion: tree.inclusionProof(seq - 1, size).map(b64) })),
    ...(others.length ? { others } : {}),
  };
  const prevNote = req.previous?.tree_note;
  const prevKey = req.previous?.keys.find((k) => k.fingerprint === req.previous?.checkpoint.key_fingerprint);
  if (prevNote && prevKey) {
    const prev = parseCheckpoint(prevNote.slice(0, prevNote.lastIndexOf("\n\n") + 1));
    if (prev.origin === origin && prev.size >= 1 && prev.size <= size) {
      proofs.previous = {
        tree_size: prev.size,
        root: b64(prev.root),
        consistency: tree.consistencyProof(prev.size, size).map(b64),
        // For the auditor to compare with the head they hold; verifiers never trust it from here.
        checkpoint: prevNote,
      };
    }
  }
  fs.mkdirSync(req.out, { recursive: true });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(req.out, name), text);
  write("events.jsonl", lines.join("\n") + "\n");
  // What the bundle covers is signed with its tree head (a tlog-checkpoint extension line).
  write("checkpoint.txt", signNote(`${checkpointBody(origin, size, tree.root())}${coverageLine(coverage)}\n`, origin, req.signer));
  write("vkey.txt", noteVerifierKey(origin, req.signer.key.public_key) + "\n");
  write("proofs.json", JSON.stringify(proofs, null, 2) + "\n");
  fs.copyFileSync(req.verifierScript, path.join(req.out, "verify-bundle.js"));
  write("README.txt", readme(origin, size, req.seqs.length, proofs.previous !== undefined));
  return { treeSize: size, events: lines.length, dir: req.out, previousSize: (proofs.previous as { tree_size?: number } | undefined)?.tree_size };
}

function readme(origin: string, size: number, events: number, previous: boolean): string {
  return `Evidence bundle (${BUNDLE_FORMAT}) from an Agent Audit Trail

${events} event${events === 1 ? "" : "s"} of trail ${origin}, proven to be in the Merkle tree of its first ${size} events.

Check it with a verifier you got elsewhere, against the key the trail's owner gave you:
  agent-audit verify-evidence . --key KEY [--anchor HEAD]
or with the one shipped here (Node.js 18 or later, nothing else; read it first, compare its
SHA-256 with the one published for the release):
  node verify-bundle.js . --key KEY [--anchor HEAD]
KEY is a note verifier key (name+id+key) or a PEM public key file; HEAD an earlier tree head
of the trail you hold (an anchor from "agent-audit checkpoint --print"). Without --key the
verdict is "signer not trusted": vkey.txt only says who claims to have signed.

  events.jsonl    one event per line, exactly the bytes that were hashed (canonical JSON, UTF-8)
  checkpoint.txt  the tree head: a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) in a
                  C2SP signed note (https://c2sp.org/signed-note), Ed25519; its signed
                  "agent-audit-bundle" line says what the bundle covers (a session from its first
                  event to its end, or a range), so that a bundle with an event left out fails
  vkey.txt        the signer's note verifier key, as the bundle claims it
  proofs.json     per event, its RFC 9162 inclusion proof (leaf = SHA-256(0x00 || line),
                  node = SHA-256(0x01 || left || right)); other sessions' events within the span
                  as leaf hashes with proofs ("others")${previous ? "; and a consistency proof from the\n                  previous anchored tree head to this one" : ""}
  verify-bundle.js  the verifier: Node's built-in crypto only

Any conforming tlog-checkpoint / signed-note / RFC 9162 implementation checks the same data.
`;
}
