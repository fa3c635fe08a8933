import type * as vscode from "vscode";
import type { TrustStore } from "../trail/trust/trustStore";
import type { Logger } from "./logger";

const SECRET_KEY = "agentAudit.checkpointSigningKey";

/**
 * Earlier versions kept the extension's own checkpoint key in SecretStorage, apart from the
 * CLI's, so neither trusted what the other signed. Both now sign with the one key of the
 * user's trust store (a 0600 file in ~/.config/agent-audit). A key found in SecretStorage is
 * retired: its public half is trusted (its checkpoints keep verifying) and the secret removed.
 */
export async function retireSecretStorageKey(secrets: vscode.SecretStorage, trust: TrustStore, log: Logger): Promise<void> {
  const pem = await secrets.get(SECRET_KEY);
  if (!pem) return;
  try {
    const fp = trust.trustRetiredPrivateKey(pem);
    await secrets.delete(SECRET_KEY);
    log.info(`retired the extension's former signing key ${fp.slice(0, 16)}… (still trusted for its checkpoints); signing with ${trust.dir}`);
  } catch (err) {
    log.error(`could not retire the former signing key: ${(err as Error).message}`);
  }
}
