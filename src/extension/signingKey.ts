import type * as vscode from "vscode";
import type { CheckpointSigner } from "../trail/signing";
import { ed25519Signer, generateSigningKey } from "../trail/signing";
import type { Logger } from "./logger";

const SECRET_KEY = "agentAudit.checkpointSigningKey";

/**
 * The user's checkpoint signing key, kept in SecretStorage (the OS keychain) and created on
 * first use. Only its public half ever reaches a trail.
 */
export function signingKeyProvider(secrets: vscode.SecretStorage, log: Logger): { signer: () => Promise<CheckpointSigner>; existingSigner: () => Promise<CheckpointSigner | undefined> } {
  let signer: Promise<CheckpointSigner> | undefined;
  const existingSigner = async () => {
    if (signer) return signer;
    const pem = await secrets.get(SECRET_KEY);
    return pem ? ed25519Signer(pem) : undefined;
  };
  const create = () =>
    (signer ??= (async () => {
      let pem = await secrets.get(SECRET_KEY);
      if (!pem) {
        pem = generateSigningKey();
        await secrets.store(SECRET_KEY, pem);
        log.info("created a checkpoint signing key in secret storage");
      }
      const s = ed25519Signer(pem);
      log.info(`checkpoints are signed with key ${s.key.fingerprint.slice(0, 16)}…`);
      return s;
    })().catch((err) => {
      signer = undefined;
      throw err;
    }));
  return { signer: create, existingSigner };
}
