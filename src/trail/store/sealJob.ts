import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { fsyncDir, tempPathFor, writeFileDurably } from "./durableFile";
import { sha256Hex } from "../integrity/hashChain";
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

type SealAnswer = ({ ok: true } & SealBuilt) | { ok: false; message: string };

/**
 * The seal worker of this process: started at the first seal and kept (it does not keep the
 * process alive), so a seal does not pay for a new thread and for loading SQLite's engine.
 * If it fails or stops, the seals it had are rejected (no event is lost: the store retries)
 * and the next seal starts a new one.
 */
interface SharedWorker {
  worker: Worker;
  pending: Map<number, { resolve: (b: SealBuilt) => void; reject: (e: Error) => void }>;
  nextId: number;
  idle?: NodeJS.Timeout;
}
let shared: SharedWorker | undefined;
/** An idle seal worker is stopped after this long: its memory (SQLite's heap) is not kept for nothing. */
const SEAL_WORKER_IDLE_MS = 30_000;

function sealWorker(script: string): SharedWorker {
  if (shared) return shared;
  const worker = new Worker(script);
  worker.unref();
  const state: SharedWorker = { worker, pending: new Map(), nextId: 1 };
  const fail = (err: Error) => {
    if (shared === state) shared = undefined;
    for (const p of state.pending.values()) p.reject(err);
    state.pending.clear();
  };
  worker.on("message", (m: { id: number } & SealAnswer) => {
    const p = state.pending.get(m.id);
    if (!p) return;
    state.pending.delete(m.id);
    if (m.ok) p.resolve({ fileSha256: m.fileSha256, nextBytes: m.nextBytes });
    else p.reject(new Error(m.message));
    if (state.pending.size) return;
    worker.unref();
    state.idle = setTimeout(() => {
      if (shared === state) shared = undefined;
      void worker.terminate();
    }, SEAL_WORKER_IDLE_MS);
    state.idle.unref();
  });
  worker.on("error", fail);
  worker.on("exit", (code) => {
    clearTimeout(state.idle);
    fail(new Error(`the seal worker stopped (exit ${code})`));
  });
  shared = state;
  return state;
}

/**
 * buildSealed in a worker thread when its script is beside this file (the bundles ship
 * dist/sealWorker.js; compiled sources have out/src/trail/sealWorker.js), so the writer's
 * event loop only pays for exporting the segment; in place otherwise.
 */
export function runSealJob(job: SealJob): Promise<SealBuilt> {
  const script = path.join(__dirname, "sealWorker.js");
  if (!fs.existsSync(script)) return buildSealed(job);
  const w = sealWorker(script);
  clearTimeout(w.idle);
  const id = w.nextId++;
  return new Promise<SealBuilt>((resolve, reject) => {
    w.pending.set(id, { resolve, reject });
    // While a seal is under way the worker keeps the process alive (the store awaits it).
    w.worker.ref();
    // The bytes are moved, not copied: the writer does not need them after this.
    w.worker.postMessage({ id, job }, [job.bytes.buffer as ArrayBuffer]);
  });
}
