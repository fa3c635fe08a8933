import * as fs from "node:fs";
import * as path from "node:path";
import { filePinKeeper } from "../trail/trust/pinKeeper";
import { writerGate } from "../trail/store/writerGate";
import { TrustStore } from "../trail/trust/trustStore";
import { TrailError } from "../trail/store/trailErrors";
import type { OpenReport } from "../trail/store/trailStore";
import { TrailStore } from "../trail/store/trailStore";
import type { TrailReader } from "../trail/reading/trailReader";
import type { ParsedArgs } from "./cliArgs";
import { UsageError } from "./cliArgs";

/**
 * True when the workspace has no trail at all: no .agent-audit folder, or one without
 * trail.db. Looked at without following links: a link, FIFO or other odd thing in their place
 * is not "no trail" but a hostile file, which opening the store refuses by name.
 */
export function trailAbsent(workspace: string): boolean {
  const folder = fs.lstatSync(path.join(workspace, ".agent-audit"), { throwIfNoEntry: false });
  if (!folder) return true;
  if (!folder.isDirectory()) return false;
  return !fs.lstatSync(trailPathFor(workspace), { throwIfNoEntry: false });
}

/** Where a workspace keeps its trail. */
export function trailPathFor(workspace: string): string {
  return path.join(workspace, ".agent-audit", "trail.db");
}

/**
 * The workspace: --workspace (the folder, its .agent-audit folder, or trail.db itself), else the
 * nearest folder from the current one upward that holds a trail, as git finds its repository —
 * only folders of this user count, so a trail planted in a shared parent (/tmp) is never
 * picked up — else the current folder.
 */
export function workspaceFrom(flag: string | undefined): string {
  if (flag === undefined) return discoverWorkspace(process.cwd()) ?? path.resolve(process.cwd());
  let dir = path.resolve(flag);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError(`workspace ${dir} does not exist`);
  }
  if (stat.isFile() && path.basename(dir) === "trail.db" && path.basename(path.dirname(dir)) === ".agent-audit") return path.dirname(path.dirname(dir));
  if (!stat.isDirectory()) throw new UsageError(`workspace ${dir} is not a folder (give the workspace, its .agent-audit folder or its trail.db)`);
  if (path.basename(dir) === ".agent-audit" && fs.existsSync(path.join(dir, "trail.db"))) dir = path.dirname(dir);
  return dir;
}

function discoverWorkspace(from: string): string | undefined {
  const uid = process.getuid?.();
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const folder = path.join(dir, ".agent-audit");
    const st = fs.lstatSync(folder, { throwIfNoEntry: false });
    if (st?.isDirectory() && (uid === undefined || st.uid === uid) && fs.existsSync(path.join(folder, "trail.db"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Opens a workspace's trail for reading only: nothing on disk is changed. */
export async function openTrailForReading(workspace: string): Promise<{ store: TrailStore; report: OpenReport; file: string }> {
  const file = trailPathFor(workspace);
  if (trailAbsent(workspace)) throw new UsageError(`no trail in ${workspace} (expected ${file}); run an agent there first`);
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
export async function openTrailForWriting(workspace: string, opts: { create?: boolean } = {}): Promise<TrailStore> {
  // Only run and the receiver start a trail: a command that signs, prunes, retries or replays
  // in a folder without one says so rather than leave a new trail behind.
  const file = trailPathFor(workspace);
  if (!opts.create && trailAbsent(workspace)) throw new UsageError(`no trail in ${workspace} (expected ${file}); run an agent there first`);
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
