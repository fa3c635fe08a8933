/** Why a trail operation failed, for callers that react differently (CLI exit codes, UI). */
export type TrailErrorCode =
  | "CORRUPT" // the file at the trail path is not a readable trail
  | "NEWER_SCHEMA" // made by a newer version of Agent Audit Trail
  | "ROLLED_BACK" // the files on disk lost events this store had acknowledged
  | "INVALID_EVENT" // the caller passed an event that cannot be stored
  | "DUPLICATE_EVENT" // an event with this event_id is already in the trail (a record delivered twice)
  | "READ_ONLY" // the store was opened read-only and cannot append
  | "NO_SIGNING_KEY" // signing (a checkpoint, a pruning's seals) was asked of a store without a key
  | "CLOSED" // the store was closed
  | "SCHEMA_ALTERED" // the file's schema (views, column expressions, triggers…) was edited
  | "PIN_MISMATCH" // the trail at this location is not the one this user last saw there
  | "UNSAFE_FILE" // a link, special file, oversized file, foreign name or foreign-owned file (safeFiles.ts)
  | "FINDINGS" // a writer found what verify would report (writerGate.ts) and wrote nothing
  | "IO" // the disk refused a write or fsync
  | "NETWORK_FS"; // the trail is on a network file system, where its lock cannot exclude other machines

/** An error whose message says what happened to which file and what to do about it. */
export class TrailError extends Error {
  constructor(
    readonly code: TrailErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = "TrailError";
  }
}

/** An event the store cannot take (bad fields, too deep, a duplicate id). */
export function invalidEvent(message: string): TrailError {
  return new TrailError("INVALID_EVENT", `Invalid trail event: ${message}`);
}

/** What a write error means to the user, and what to do; nothing acknowledged was lost. */
export function diskErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const what =
    e.code === "ENOSPC" || e.code === "EDQUOT" ? "the disk is full (or the quota is used up)"
    : e.code === "EROFS" ? "the file system is read-only"
    : e.code === "EIO" ? "the disk reported an I/O error"
    : (e.message ?? String(err)).replace(/\s+/g, " ");
  return `${what}. This event was not recorded; everything acknowledged before it is safe. Once the disk takes writes again, the next append goes on.`;
}
