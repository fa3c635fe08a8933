import type { ActiveSegment } from "./activeSegment";
import type { Checkpointer } from "../integrity/checkpointer";
import type { StoredEvent } from "./eventTypes";
import type { Journal } from "./journal";
import { encodeRecord } from "./journalFile";
import type { PreparedEvent } from "./preparedEvent";
import { internalAppend } from "./preparedEvent";
import type { Sealer } from "./sealer";
import type { Checkpoint } from "../trust/signing";
import type { TrailFiles } from "./trailFiles";
import { diskErrorText, invalidEvent, TrailError } from "./trailErrors";

/** The collaborators a commit goes through. */
export interface CommitParts {
  segment: ActiveSegment;
  journal: Journal;
  checkpointer: Checkpointer;
  sealer: Sealer;
  files: TrailFiles;
}

/**
 * One group commit (under the lock, caught up): the batch's events — after a writer's start,
 * with a checkpoint when one is due — into the active segment inside a savepoint, their
 * records into the journal with one fsync, then the savepoint released and the callers
 * resolved. A failed write puts every collaborator back as it was before the commit (the
 * database and head, the running tree, a wanted checkpoint, the tree head, the writer's start,
 * the seal's blob set), so the next commit, once the disk takes writes again, succeeds.
 * Returns the events stored.
 */
export function groupCommit(parts: CommitParts, batch: PreparedEvent[]): StoredEvent[] {
  const { segment: seg, journal, checkpointer, sealer, files } = parts;
  const lines: string[] = [];
  const done: { p: PreparedEvent; e: StoredEvent }[] = [];
  const mark = checkpointer.mark();
  const sealBlobs: string[] = [];
  const record = batch.length || checkpointer.isWanted ? checkpointer.writerRecord(mark, batch[0]?.input.session_id) : undefined;
  if (record) batch = [internalAppend(record), ...batch];
  seg.begin();
  let checkpoint: Checkpoint | undefined;
  try {
    for (const p of batch) {
      const e = seg.buildEvent(p.input, p.content);
      try {
        for (const b of p.blobs) {
          // During a seal the next segment must get the blob even if the sealed part has it.
          if (sealer.noteBlob(b.hash)) sealBlobs.push(b.hash);
          // A blob already stored is not journaled again.
          if (seg.insertBlob(b)) lines.push(encodeRecord({ b }));
        }
        seg.insert(e);
      } catch (err) {
        // One bad event (say a duplicate event_id) must not sink the others in its batch. A
        // duplicate has a code of its own: importers that derive ids from what they record (a
        // re-delivered OTLP record, a re-imported transcript) take it as "already written".
        const message = (err as Error).message;
        p.reject(/UNIQUE constraint failed: events\.event_id/.test(message) ? new TrailError("DUPLICATE_EVENT", `An event with id ${p.input.event_id ?? "?"} is already in the trail`) : invalidEvent(message));
        continue;
      }
      lines.push(encodeRecord({ e }));
      done.push({ p, e });
    }
    checkpoint = checkpointer.maybeCheckpoint(done.map((d) => d.e), lines);
    const bytes = Buffer.from(lines.join(""), "utf8");
    journal.append(bytes);
    seg.release(bytes.length);
  } catch (err) {
    seg.rollback();
    checkpointer.revert(mark);
    sealer.forgetBlobs(sealBlobs);
    throw err instanceof TrailError ? err : new TrailError("IO", `Could not write ${journal.path}: ${diskErrorText(err)}`, journal.path);
  }
  if (done.length) files.acknowledged(seg.head.seq);
  checkpointer.committed(done.length > 0, checkpoint);
  for (const { p, e } of done) p.resolve(e);
  return done.map((d) => d.e);
}
