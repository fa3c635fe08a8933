import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { TrustStore } from "../trust/trustStore";
import type { LocatedVerification } from "./verifyAtLocation";
import { verifyAtLocation } from "./verifyAtLocation";

/**
 * verifyAtLocation in a worker thread (dist/verifyWorker.js beside the bundle), so that a
 * trail of any size never blocks the caller's event loop; in place when the worker file is
 * not there (running from compiled sources, as tests do).
 */
export function verifyOffThread(trailPath: string, trust: TrustStore): Promise<LocatedVerification> {
  const workerFile = path.join(__dirname, "verifyWorker.js");
  if (!fs.existsSync(workerFile)) return verifyAtLocation(trailPath, trust);
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerFile, { workerData: { trailPath, trustDir: trust.dir } });
    worker.once("message", (m: { ok: true; v: LocatedVerification } | { ok: false; message: string }) => {
      if (m.ok) resolve(m.v);
      else reject(new Error(m.message));
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`verification stopped (worker exit ${code})`));
    });
  });
}
