import { createPublicKey } from "node:crypto";
import { noteKeyId } from "./c2spNote";
import type { CheckpointSigner } from "../trust/signing";

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with our Ed25519 checkpoint key, carrying
 * C2SP tlog-checkpoints (https://c2sp.org/tlog-checkpoint): the standard form of "this log
 * had N entries with this Merkle root", which any transparency-log tool can check.
 */

/** The origin line (and key name) of a trail's checkpoints: unique per trail, no spaces or '+'. */
export function trailOrigin(trailId: string): string {
  return `agent-audit.local/trail/${trailId}`;
}

/** The raw 32-byte Ed25519 public key of a PEM key. */
export function rawEd25519(publicKeyPem: string): Buffer {
  const jwk = createPublicKey(publicKeyPem).export({ format: "jwk" }) as { x?: string; crv?: string };
  if (jwk.crv !== "Ed25519" || !jwk.x) throw new Error("not an Ed25519 public key");
  return Buffer.from(jwk.x, "base64url");
}

/** The note verifier key: `name+keyid+base64(0x01 ‖ key)`. */
export function noteVerifierKey(name: string, publicKeyPem: string): string {
  const raw = rawEd25519(publicKeyPem);
  const id = noteKeyId(name, raw).toString(16).padStart(8, "0");
  return `${name}+${id}+${Buffer.concat([Buffer.from([1]), raw]).toString("base64")}`;
}

/** A tlog-checkpoint body: origin, tree size, base64 root hash, each on its own line. */
export function checkpointBody(origin: string, size: number, root: Buffer): string {
  return `${origin}\n${size}\n${root.toString("base64")}\n`;
}

/** Signs `text` (which must end in a newline) as a signed note under `name`. */
export function signNote(text: string, name: string, signer: CheckpointSigner): string {
  if (!text.endsWith("\n")) throw new Error("a note's text ends with a newline");
  const id = Buffer.alloc(4);
  id.writeUInt32BE(noteKeyId(name, rawEd25519(signer.key.public_key)));
  const sig = Buffer.from(signer.sign(text), "base64");
  return `${text}\n\u2014 ${name} ${Buffer.concat([id, sig]).toString("base64")}\n`;
}
