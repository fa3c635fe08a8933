import * as path from "node:path";
import { ActiveSegment } from "../../src/trail/store/activeSegment";
import { Checkpointer } from "../../src/trail/integrity/checkpointer";
import type { CheckpointerOptions } from "../../src/trail/integrity/checkpointer";
import type { EventInput, StoredEvent } from "../../src/trail/store/eventTypes";
import { groupCommit } from "../../src/trail/store/groupCommit";
import type { CommitParts } from "../../src/trail/store/groupCommit";
import { Journal, journalPathFor } from "../../src/trail/store/journal";
import { prepareAppend } from "../../src/trail/store/preparedEvent";
import { Sealer } from "../../src/trail/store/sealer";
import { segmentsDirFor } from "../../src/trail/store/segments";
import { SnapshotWriter } from "../../src/trail/store/snapshotWriter";
import { loadSqlEngine } from "../../src/trail/store/sqlEngine";
import { TrailFiles } from "../../src/trail/store/trailFiles";
import { tempDir } from "./tempDir";

/** The store's collaborators wired as TrailStore wires them, on a new trail in a temp folder (no lock, no loop). */
export async function storeParts(
  t: { after(fn: () => void): void },
  opts: Partial<Omit<CheckpointerOptions, "location" | "log">> & { sealBytes?: number; clock?: () => Date } = {},
) {
  const sql = await loadSqlEngine();
  const trailPath = path.join(tempDir(t), "trail.db");
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const segmentsDir = segmentsDirFor(trailPath);
  const journal = new Journal(journalPathFor(trailPath), trailPath, false, log);
  const segment = new ActiveSegment(sql, { trail: trailPath, journal: journal.path, segmentsDir, readOnly: false }, opts.clock, log);
  const snapshots = new SnapshotWriter(trailPath, {}, log);
  const checkpointer = new Checkpointer(segment, { ...opts, location: () => trailPath, log });
  const sealer = new Sealer(segment, snapshots, journal, { sealBytes: opts.sealBytes ?? 0, readOnly: false, signer: opts.signer, segmentsDir, log });
  const emitted: StoredEvent[] = [];
  const files = new TrailFiles(trailPath, segment, journal, snapshots, { log, emit: (e) => emitted.push(...e) });
  files.create();
  checkpointer.startWriter();
  t.after(() => {
    journal.close();
    segment.close();
  });
  const parts: CommitParts = { segment, journal, checkpointer, sealer, files };
  /** Commits the inputs as one group commit; resolves with what each append got. */
  const commit = (inputs: EventInput[]) => {
    const results: Promise<StoredEvent>[] = [];
    const batch = inputs.map((i) => {
      let p!: ReturnType<typeof prepareAppend>;
      results.push(new Promise<StoredEvent>((resolve, reject) => (p = prepareAppend(i, resolve, reject))));
      return p;
    });
    groupCommit(parts, batch);
    return Promise.all(results);
  };
  return { sql, trailPath, logs, journal, segment, snapshots, checkpointer, sealer, files, parts, emitted, commit };
}

export const toolResult = (i: number, extra: Partial<EventInput> = {}): EventInput => ({
  session_id: "s1",
  event_type: "tool_result",
  step_number: i,
  content: { tool_name: "read_file", outcome: "success", output: `line ${i} ${"x".repeat(200)}` },
  ...extra,
});
