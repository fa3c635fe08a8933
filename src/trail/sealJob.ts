import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { fsyncDir, tempPathFor, writeFileDurably } from "./durableFile";
import { sha256Hex } from "./hashChain";
import { nextActiveDatabase } from "./segments";
import { loadSqlEngine } from "./sqlEngine";

/** What a seal hands over: the exported active segment, where it goes, its number. */
export interface SealJob {
  bytes: Uint8Array;
  file: string;
  segmentNo: number;
}

export interface SealBuilt {
  fileSha256: string;
  /** The next active segment, without its seal (the writer signs and adds it). */
  nextBytes: Uint8Array;
}

/**
 * Writes the sealed segment durably (temp, fsync, rename, fsync of the folder) and builds the
 * next active segment from it: hashing the file, reading its sessions and failures into the
 * catalog and copying the catalog are proportional to the segment and the trail's history.
 */
export async function buildSealed(job: SealJob): Promise<SealBuilt> {
  const bytes = job.bytes;
  const tmp = tempPathFor(job.file);
  try {
    await writeFileDurably(tmp, bytes);
    fs.renameSync(tmp, job.file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(path.dirname(job.file));
  const sql = await loadSqlEngine();
  const sealed = new sql.Database(bytes);
  try {
    const next = nextActiveDatabase(sql, sealed, job.segmentNo);
    try {
      return { fileSha256: sha256Hex(bytes), nextBytes: next.export() };
    } finally {
      next.close();
    }
  } finally {
    sealed.close();
  }
}

/**
 * buildSealed in a worker thread when its script is beside this file (the bundles ship
 * dist/sealWorker.js; compiled sources have out/src/trail/sealWorker.js), so the writer's
 * event loop only pays for exporting the segment; in place otherwise.
 */
export function runSealJob(job: SealJob): Promise<SealBuilt> {
  const script = path.join(__dirname, "sealWorker.js");
  if (!fs.existsSync(script)) return buildSealed(job);
  return new Promise((resolve, reject) => {
    const worker = new Worker(script);
    let settled = false;
    worker.once("message", (m: ({ ok: true } & SealBuilt) | { ok: false; message: string }) => {
      settled = true;
      if (m.ok) resolve({ fileSha256: m.fileSha256, nextBytes: m.nextBytes });
      else reject(new Error(m.message));
      void worker.terminate();
    });
    worker.once("error", (err) => {
      settled = true;
      reject(err);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the seal worker stopped (exit ${code})`));
    });
    // The bytes are moved, not copied: the writer does not need them after this.
    worker.postMessage(job, [job.bytes.buffer as ArrayBuffer]);
  });
}
