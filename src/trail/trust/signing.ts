import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { canonicalJson } from "../integrity/canonicalJson";

/** A signed statement "trail T had N events and head hash H at time X", appended to the trail. */
export interface Checkpoint {
  checkpoint_no: number;
  trail_id: string;
  seq: number;
  head_hash: string;
  time: string;
  key_fingerprint: string;
  /** Ed25519 signature (base64) over checkpointPayload(). */
  signature: string;
}

/** A public key as the trail and anchors store it. */
export interface PublicKeyRecord {
  fingerprint: string;
  algorithm: "ed25519";
  public_key: string;
}

/** Signs checkpoints; the private key never leaves it. */
export interface CheckpointSigner {
  readonly key: PublicKeyRecord;
  sign(payload: string): string;
}

/** The exact bytes a checkpoint's signature covers: canonical JSON of its five fields. */
export function checkpointPayload(c: Omit<Checkpoint, "checkpoint_no" | "signature">): string {
  return canonicalJson({ head_hash: c.head_hash, key_fingerprint: c.key_fingerprint, seq: c.seq, time: c.time, trail_id: c.trail_id });
}

/** SHA-256 (hex) of the public key's SubjectPublicKeyInfo DER. */
export function fingerprintOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex");
}

/** A new Ed25519 private key, PKCS#8 PEM. */
export function generateSigningKey(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** A signer for a private key PEM; throws a clear error when it is not an Ed25519 key. */
export function ed25519Signer(privateKeyPem: string): CheckpointSigner {
  let privateKey;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch (err) {
    throw new Error(`The signing key is not a readable private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`The signing key is ${privateKey.asymmetricKeyType}, not Ed25519`);
  const publicKeyPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  const key: PublicKeyRecord = { fingerprint: fingerprintOf(publicKeyPem), algorithm: "ed25519", public_key: publicKeyPem };
  return { key, sign: (payload) => sign(null, Buffer.from(payload, "utf8"), privateKey).toString("base64") };
}

/** Whether `c` is signed by `publicKeyPem` (false for malformed keys or signatures). */
export function checkpointSignatureValid(c: Checkpoint, publicKeyPem: string): boolean {
  try {
    return verify(null, Buffer.from(checkpointPayload(c), "utf8"), createPublicKey(publicKeyPem), Buffer.from(c.signature, "base64"));
  } catch {
    return false;
  }
}
