// C2SP signed notes (https://c2sp.org/signed-note) and tlog-checkpoints
// (https://c2sp.org/tlog-checkpoint), parsed as strictly as Go's golang.org/x/mod/sumdb/note:
// a verifier that accepts what the reference implementation refuses lets an auditor reach a
// different verdict from the same bytes. Node's built-in modules only: this file is compiled
// into the standalone verify-bundle.js shipped in every evidence bundle.
import { createHash, createPublicKey, verify as verifySignature } from "node:crypto";

export interface VerifierKey {
  name: string;
  keyId: number;
  publicKey: Buffer;
}

/** Unicode spaces as Go's unicode.IsSpace counts them (a key name may hold none). */
const SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

/** A key name: non-empty, no spaces, no '+' (the spec's rule, Go's isValidName). */
export function isValidKeyName(name: string): boolean {
  return name !== "" && !SPACE.test(name) && !name.includes("+");
}

/**
 * Standard padded base64 as Go's base64.StdEncoding decodes it: the alphabet, `=` padding to
 * a multiple of 4, nothing else (Node's Buffer.from skips characters it does not know).
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

/** A hash in a checkpoint or a proof: 32 bytes, base64 in its one canonical spelling. */
export function decodeHash(text: unknown): Buffer | undefined {
  if (typeof text !== "string") return undefined;
  const b = decodeBase64(text);
  return b && b.length === 32 && b.toString("base64") === text ? b : undefined;
}

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The key ID of an Ed25519 note key: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key), big-endian. */
export function noteKeyId(name: string, publicKey: Buffer): number {
  return sha256(Buffer.from(name, "utf8"), Buffer.from([0x0a, 0x01]), publicKey).readUInt32BE(0);
}

/** Parses a verifier key `name+hex8+base64(0x01 ‖ 32-byte key)`; throws on anything else. */
export function parseVerifierKey(vkey: string): VerifierKey {
  const m = /^([^+]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey.trim());
  if (!m || !isValidKeyName(m[1])) throw new Error(`not a note verifier key: ${JSON.stringify(vkey.slice(0, 80))}`);
  const raw = decodeBase64(m[3]);
  if (!raw || raw.toString("base64") !== m[3]) throw new Error("the verifier key's base64 is not canonical");
  if (raw.length !== 33 || raw[0] !== 0x01) throw new Error("the verifier key is not an Ed25519 (type 0x01) key");
  const publicKey = raw.subarray(1);
  const keyId = parseInt(m[2], 16);
  if (noteKeyId(m[1], publicKey) !== keyId) throw new Error("the verifier key's ID does not match its name and key");
  return { name: m[1], keyId, publicKey };
}

export interface OpenedNote {
  /** The signed text, final newline included. */
  text: string;
  /** The known key whose signature verified (the first one, as Go reports it). */
  signer: VerifierKey;
}

/** Why a note was refused; `unknownSigners` names the signatures no given key could check. */
export class NoteError extends Error {
  constructor(
    message: string,
    readonly unknownSigners: string[] = [],
  ) {
    super(message);
  }
}

/**
 * Verifies a signed note against `known` keys, with the reference implementation's rules: the
 * whole note valid UTF-8 without control characters but newline; text, blank line, then 1–100
 * signature lines `— name base64(keyID ‖ sig)`, each well formed even when its key is unknown;
 * a known key's signature that fails rejects the note; at least one known key must sign.
 */
export function openSignedNote(note: string | Buffer, known: VerifierKey[]): OpenedNote {
  const bytes = typeof note === "string" ? Buffer.from(note, "utf8") : note;
  const text0 = bytes.toString("utf8");
  if (!Buffer.from(text0, "utf8").equals(bytes)) throw new NoteError("not a signed note: it is not valid UTF-8");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text0)) throw new NoteError("not a signed note: it holds a control character");
  const split = text0.lastIndexOf("\n\n");
  if (split < 0 || !text0.endsWith("\n") || split + 2 >= text0.length) throw new NoteError("not a signed note (no blank line before the signatures)");
  const text = text0.slice(0, split + 1);
  const lines = text0.slice(split + 2, -1).split("\n");
  if (lines.length > 100) throw new NoteError("not a signed note: more than 100 signatures");
  const unknown: string[] = [];
  let signer: VerifierKey | undefined;
  for (const line of lines) {
    const m = /^\u2014 ([^ ]*) (.*)$/su.exec(line);
    const sig = m ? decodeBase64(m[2]) : undefined;
    if (!m || !isValidKeyName(m[1]) || m[2] === "" || !sig || sig.length < 5) {
      throw new NoteError(`malformed signature line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const id = sig.readUInt32BE(0);
    const key = known.find((k) => k.name === m[1] && k.keyId === id);
    if (!key) {
      unknown.push(`${m[1]}+${id.toString(16).padStart(8, "0")}`);
      continue;
    }
    if (signer?.name === key.name && signer.keyId === key.keyId) continue; // a repeated signature
    const pub = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: key.publicKey.toString("base64url") }, format: "jwk" });
    if (sig.length !== 68 || !verifySignature(null, Buffer.from(text, "utf8"), pub, sig.subarray(4))) {
      throw new NoteError(`the signature by ${key.name} does not verify: the note or its signature was changed`);
    }
    signer ??= key;
  }
  if (!signer) {
    const names = known.map((k) => `${k.name} (${k.keyId.toString(16).padStart(8, "0")})`).join(", ");
    throw new NoteError(`the note carries no signature by ${names || "a key you gave"}`, unknown);
  }
  return { text, signer };
}

/** Verifies a signed note with one key; returns its text (signed lines, final newline included). */
export function openNote(note: string, key: VerifierKey): string {
  return openSignedNote(note, [key]).text;
}

export interface CheckpointBody {
  origin: string;
  size: number;
  root: Buffer;
  /** The extension lines after the root hash, each non-empty. */
  extensions: string[];
}

/**
 * Parses a C2SP tlog-checkpoint body: a non-empty origin, the tree size in decimal without
 * leading zeros, the root hash in canonical base64, then optional non-empty extension lines.
 */
export function parseCheckpoint(text: string): CheckpointBody {
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("not a tlog-checkpoint: it does not end with a newline");
  lines.pop();
  const [origin, size, root, ...extensions] = lines;
  const hash = decodeHash(root);
  if (!origin || !/^(0|[1-9][0-9]{0,15})$/.test(size ?? "") || !hash || !Number.isSafeInteger(Number(size))) {
    throw new Error("not a tlog-checkpoint (origin, size in decimal without leading zeros, base64 root)");
  }
  if (extensions.some((l) => l === "")) throw new Error("not a tlog-checkpoint: an empty extension line");
  return { origin, size: Number(size), root: hash, extensions };
}
