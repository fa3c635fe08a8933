import * as fs from "node:fs";
import * as path from "node:path";
import type { Database } from "sql.js";
import type { AnchorFile } from "./anchorFile";
import type { EventRecord } from "./eventTypes";
import { canonicalEventText } from "./hashChain";
import { parseCheckpoint } from "./evidenceVerifier";
import { checkpointBody, noteVerifierKey, signNote, trailOrigin } from "./signedNote";
import type { CheckpointSigner } from "./signing";
import { leafHash, MerkleTree } from "./merkle";
import { EVENT_RECORD_FIELDS } from "./trailColumns";

export const BUNDLE_FORMAT = "agent-audit-evidence/1";

export interface BundleRequest {
  /** The trail's segments in seq order (sealed ones, then the active one): TrailReader.databases(). */
  databases: Iterable<{ db: Database }>;
  trailId: string;
  /** The events to prove, by seq (a session's, or a range). */
  seqs: number[];
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
export function writeEvidenceBundle(req: BundleRequest): { treeSize: number; events: number; dir: string } {
  if (!req.seqs.length) throw new Error("no events to put in the bundle");
  // One pass over the segments (one held at a time): every leaf of the tree, and the wanted events.
  const tree = new MerkleTree();
  const wanted = new Set(req.seqs);
  const texts = new Map<number, string>();
  for (const { db } of req.databases) {
    const stmt = db.prepare(`SELECT ${EVENT_RECORD_FIELDS} FROM events ORDER BY seq`);
    try {
      while (stmt.step()) {
        const e = stmt.getAsObject() as unknown as EventRecord;
        if (e.seq !== tree.size + 1) throw new Error(`the trail is not whole at seq ${tree.size + 1} (pruned or damaged): run "agent-audit verify"`);
        const text = canonicalEventText(e);
        tree.append(leafHash(text));
        if (wanted.has(e.seq)) texts.set(e.seq, text);
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
  const proofs: Record<string, unknown> = {
    format: BUNDLE_FORMAT,
    tree_size: size,
    leaves: req.seqs.map((seq) => ({ seq, index: seq - 1, inclusion: tree.inclusionProof(seq - 1, size).map(b64) })),
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
        checkpoint: prevNote,
        vkey: noteVerifierKey(origin, prevKey.public_key),
      };
    }
  }
  fs.mkdirSync(req.out, { recursive: true });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(req.out, name), text);
  write("events.jsonl", lines.join("\n") + "\n");
  write("checkpoint.txt", signNote(checkpointBody(origin, size, tree.root()), origin, req.signer));
  write("vkey.txt", noteVerifierKey(origin, req.signer.key.public_key) + "\n");
  write("proofs.json", JSON.stringify(proofs, null, 2) + "\n");
  fs.copyFileSync(req.verifierScript, path.join(req.out, "verify-bundle.js"));
  write("README.txt", readme(origin, size, req.seqs.length, proofs.previous !== undefined));
  return { treeSize: size, events: lines.length, dir: req.out };
}

function readme(origin: string, size: number, events: number, previous: boolean): string {
  return `Evidence bundle (${BUNDLE_FORMAT}) from an Agent Audit Trail

${events} event${events === 1 ? "" : "s"} of trail ${origin}, proven to be in the Merkle tree of its first ${size} events.

Check it (Node.js 18 or later, nothing else):   node verify-bundle.js .

  events.jsonl    one event per line, exactly the bytes that were hashed (canonical JSON, UTF-8)
  checkpoint.txt  the tree head: a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) in a
                  C2SP signed note (https://c2sp.org/signed-note), Ed25519
  vkey.txt        the signer's note verifier key: compare it with the key the trail's owner gave you
  proofs.json     per event, its RFC 9162 inclusion proof (leaf = SHA-256(0x00 || line),
                  node = SHA-256(0x01 || left || right))${previous ? "; and a consistency proof from the\n                  previous anchored tree head (its signed note included) to this one" : ""}
  verify-bundle.js  the verifier: ~200 lines, Node's built-in crypto only; read it first

Any conforming tlog-checkpoint / signed-note / RFC 9162 implementation checks the same data.
`;
}
