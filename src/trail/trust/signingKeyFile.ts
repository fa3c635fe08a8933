import * as fs from "node:fs";
import { mkdirDurable } from "../store/durableFile";
import * as os from "node:os";
import * as path from "node:path";
import { checkTrustStorePath, readTrustStoreFile } from "../store/safeFiles";
import { ed25519Signer, generateSigningKey } from "./signing";
import type { CheckpointSigner } from "./signing";

/** The CLI's config folder: $XDG_CONFIG_HOME/agent-audit (or ~/.config/agent-audit; %APPDATA% on Windows). */
export function configDir(): string {
  if (process.env.AGENT_AUDIT_CONFIG_DIR) return process.env.AGENT_AUDIT_CONFIG_DIR;
  if (process.platform === "win32" && process.env.APPDATA) return path.join(process.env.APPDATA, "agent-audit");
  return path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config"), "agent-audit");
}

export function signingKeyPath(dir = configDir()): string {
  return path.join(dir, "signing-key.pem");
}

/**
 * The user's checkpoint signing key, created on first use with 0600 permissions in a 0700
 * folder. A key file others can read is refused: anyone holding it could sign checkpoints.
 */
export function loadOrCreateSigningKey(file = signingKeyPath()): CheckpointSigner {
  if (fs.existsSync(file)) return loadSigningKey(file);
  mkdirDurable(path.dirname(file), 0o700);
  checkTrustStorePath(path.dirname(file));
  const pem = generateSigningKey();
  const fd = fs.openSync(file, "wx", 0o600);
  try {
    fs.writeSync(fd, pem);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return ed25519Signer(pem);
}

/** Loads an existing key file; undefined when there is none. */
export function loadSigningKeyIfPresent(file = signingKeyPath()): CheckpointSigner | undefined {
  return fs.existsSync(file) ? loadSigningKey(file) : undefined;
}

function loadSigningKey(file: string): CheckpointSigner {
  // A key (or folder) another user owns or may write could be theirs, planted: never sign with it.
  checkTrustStorePath(path.dirname(file));
  checkTrustStorePath(file);
  if (process.platform !== "win32") {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) throw new Error(`${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
  }
  return ed25519Signer(readTrustStoreFile(file)!.toString("utf8"));
}
