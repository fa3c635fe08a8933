import * as fs from "node:fs";
import { mkdirDurable } from "../store/durableFile";
import * as path from "node:path";
import type { AnchorFile } from "./anchorFile";
import { anchorPathFor, readAnchor } from "./anchorFile";
import { checkTrustStorePath, readTrustStoreFile } from "../store/safeFiles";
import { PinFiles } from "./pins";
import type { CheckpointSigner, PublicKeyRecord } from "./signing";
import { ed25519Signer, fingerprintOf } from "./signing";
import { configDir, loadOrCreateSigningKey, loadSigningKeyIfPresent, signingKeyPath } from "./signingKeyFile";

/**
 * The user's trust store: one folder (default ~/.config/agent-audit, AGENT_AUDIT_CONFIG_DIR
 * overrides), shared by the CLI and the VS Code extension, outside every workspace:
 *
 *   signing-key.pem       the user's Ed25519 checkpoint key (0600)
 *   trusted-keys/*.pem    public keys the user trusts: their retired keys, and keys imported
 *                         with `agent-audit trust add` (a colleague's, a CI machine's)
 *   anchors/<trail>.json  the newest checkpoint of each trail this user signed
 *   pins/<loc>.json       what this user last saw at each trail location (pins.ts)
 *
 * Nothing in a trail can add to it: a trail's own keys table is evidence, not trust.
 */
export class TrustStore {
  readonly pins: PinFiles;

  constructor(readonly dir = configDir()) {
    this.pins = new PinFiles(path.join(dir, "pins"), dir);
  }

  get anchorsDir(): string {
    return path.join(this.dir, "anchors");
  }

  private get trustedDir(): string {
    return path.join(this.dir, "trusted-keys");
  }

  /** The user's signing key, created on first use. */
  signer(): CheckpointSigner {
    return loadOrCreateSigningKey(signingKeyPath(this.dir));
  }

  /** The user's signing key if there is one (reading never creates one). */
  existingSigner(): CheckpointSigner | undefined {
    return loadSigningKeyIfPresent(signingKeyPath(this.dir));
  }

  /**
   * The anchor this user keeps for a trail, if any (the folder and file checked: the user's
   * own, writable by nobody else). Refused for a trail id that could not name a file.
   */
  anchorFor(trailId: string): { file: string; anchor: AnchorFile } | undefined {
    const file = anchorPathFor(this.anchorsDir, trailId);
    checkTrustStorePath(this.dir);
    if (!checkTrustStorePath(this.anchorsDir)) return undefined;
    const text = readTrustStoreFile(file)?.toString("utf8");
    return text === undefined ? undefined : { file, anchor: readAnchor(file, text) };
  }

  /**
   * Every key this user trusts: their current key, retired ones, imported ones. A key file or
   * folder another user owns or may write is refused (UnsafeTrailFileError), not skipped: it
   * could be a planted key, and a verdict without the user's own keys would mislead too.
   */
  trustedKeys(): PublicKeyRecord[] {
    const out = new Map<string, PublicKeyRecord>();
    checkTrustStorePath(this.dir);
    const own = this.existingSigner();
    if (own) out.set(own.key.fingerprint, own.key);
    let files: string[] = [];
    if (checkTrustStorePath(this.trustedDir)) files = fs.readdirSync(this.trustedDir).filter((f) => f.endsWith(".pem"));
    for (const f of files) {
      const bytes = readTrustStoreFile(path.join(this.trustedDir, f));
      if (!bytes) continue;
      try {
        const pem = bytes.toString("utf8");
        const fp = fingerprintOf(pem);
        out.set(fp, { fingerprint: fp, algorithm: "ed25519", public_key: pem });
      } catch {
        /* an unreadable file trusts nothing */
      }
    }
    return [...out.values()];
  }

  /** Trusts a public key: writes trusted-keys/<fingerprint>.pem. */
  trust(publicKeyPem: string): PublicKeyRecord {
    const fp = fingerprintOf(publicKeyPem);
    mkdirDurable(this.trustedDir, 0o700);
    checkTrustStorePath(this.dir);
    checkTrustStorePath(this.trustedDir);
    fs.writeFileSync(path.join(this.trustedDir, `${fp}.pem`), publicKeyPem.trim() + "\n", { mode: 0o644 });
    return { fingerprint: fp, algorithm: "ed25519", public_key: publicKeyPem };
  }

  /**
   * `agent-audit trust add FILE`: an anchor file (its keys), or a PEM public key. Returns the
   * keys now trusted. Throws a clear error for anything else.
   */
  addTrustedFrom(file: string): PublicKeyRecord[] {
    const text = fs.readFileSync(file, "utf8");
    if (!text.trimStart().startsWith("{") && text.includes("-----BEGIN PUBLIC KEY-----")) return [this.trust(text)];
    let keys: PublicKeyRecord[];
    try {
      keys = readAnchor(file).keys;
    } catch (err) {
      throw new Error(`${file} is neither a PEM public key nor an anchor file (${(err as Error).message})`);
    }
    return keys.map((k) => this.trust(k.public_key));
  }

  /**
   * A new signing key; the old one's public half stays trusted, so every checkpoint it signed
   * keeps verifying. Returns both fingerprints.
   */
  rotateKey(): { retired?: string; current: string } {
    const file = signingKeyPath(this.dir);
    const old = this.existingSigner();
    if (old) {
      this.trust(old.key.public_key);
      fs.renameSync(file, path.join(this.dir, `signing-key.retired-${Date.now()}.pem`));
    }
    return { retired: old?.key.fingerprint, current: this.signer().key.fingerprint };
  }

  /** Trusts a private key found elsewhere (the extension's former secret-storage key) by its public half. */
  trustRetiredPrivateKey(privateKeyPem: string): string {
    return this.trust(ed25519Signer(privateKeyPem).key.public_key).fingerprint;
  }
}

