import * as fs from "node:fs";
import * as path from "node:path";
import { filePinKeeper } from "../trail/pinKeeper";
import { writerGate } from "../trail/writerGate";
import { TrustStore } from "../trail/trustStore";
import { TrailError } from "../trail/trailErrors";
import type { OpenReport } from "../trail/trailStore";
import { TrailStore } from "../trail/trailStore";
import type { TrailReader } from "../trail/trailReader";
import type { ParsedArgs } from "./cliArgs";
import { UsageError } from "./cliArgs";

/** Where a workspace keeps its trail. */
export function trailPathFor(workspace: string): string {
  return path.join(workspace, ".agent-audit", "trail.db");
}

/** The workspace folder from --workspace (default: the current directory), which must exist. */
export function workspaceFrom(flag: string | undefined): string {
  const dir = path.resolve(flag ?? process.cwd());
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError(`workspace ${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new UsageError(`workspace ${dir} is not a folder`);
  return dir;
}

/** Opens a workspace's trail for reading only: nothing on disk is changed. */
export async function openTrailForReading(workspace: string): Promise<{ store: TrailStore; report: OpenReport; file: string }> {
  const file = trailPathFor(workspace);
  if (!fs.existsSync(file)) throw new UsageError(`no trail in ${workspace} (expected ${file}); run an agent there first`);
  try {
    const { store, report } = await TrailStore.open(file, { readOnly: true });
    return { store, report, file };
  } catch (err) {
    if (err instanceof TrailError) throw new UsageError(err.message);
    throw err;
  }
}

/** The user's trust store (key, trusted keys, anchors, pins), shared with the extension. */
export function trustStore(): TrustStore {
  return new TrustStore();
}

/** Opens (or creates) a workspace's trail to write, signing checkpoints with the user's key. */
export async function openTrailForWriting(workspace: string): Promise<TrailStore> {
  const trust = trustStore();
  let signer;
  try {
    signer = trust.signer();
  } catch (err) {
    throw new UsageError(`cannot use the signing key: ${(err as Error).message}`);
  }
  try {
    const { store } = await TrailStore.open(trailPathFor(workspace), {
      signer,
      anchorDir: trust.anchorsDir,
      pins: filePinKeeper(trust.pins),
      gate: writerGate(trust),
      log: (m) => process.stderr.write(`${m}\n`),
    });
    return store;
  } catch (err) {
    if (err instanceof TrailError) throw new UsageError(err.message);
    throw err;
  }
}

/** The session the first positional names (an id, a prefix of one, or "latest"). */
export function resolveSession(args: ParsedArgs, reader: TrailReader, verb: string): string {
  const ref = args.positionals[0];
  if (!ref) throw new UsageError(`${verb} needs a session id (or "latest")`);
  let id: string | undefined;
  try {
    id = reader.resolveSessionId(ref);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!id) throw new UsageError(`no session matches "${ref}"; list them with: agent-audit sessions`);
  return id;
}
