// Worker-thread entry (dist/sealWorker.js, or beside the compiled sealJob.js): the part of a
// seal whose cost grows with the segment and the catalog, off the writer's main thread (in
// the extension host, the thread every extension shares). See sealJob.ts.
import { parentPort } from "node:worker_threads";
import { buildSealed } from "./sealJob";
import type { SealJob } from "./sealJob";

// One worker serves every seal of its process (SQLite's engine is loaded once): jobs come with
// an id, and their answers carry it back.
parentPort!.on("message", ({ id, job }: { id: number; job: SealJob }) => {
  buildSealed(job).then(
    (r) => parentPort!.postMessage({ id, ok: true, ...r }, [r.nextBytes.buffer as ArrayBuffer]),
    (err: Error) => parentPort!.postMessage({ id, ok: false, message: err.message }),
  );
});
