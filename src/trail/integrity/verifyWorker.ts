// Worker-thread entry (dist/verifyWorker.js): verifies a trail off the caller's main thread.
// Verification reads every sealed segment; in the extension host that must not block the
// thread every extension shares. The result is plain data (LocatedVerification).
import { parentPort, workerData } from "node:worker_threads";
import { TrustStore } from "../trust/trustStore";
import { verifyAtLocation } from "./verifyAtLocation";

interface Job {
  trailPath: string;
  trustDir: string;
}

const job = workerData as Job;
verifyAtLocation(job.trailPath, new TrustStore(job.trustDir)).then(
  (v) => parentPort!.postMessage({ ok: true, v }),
  (err: Error) => parentPort!.postMessage({ ok: false, message: err.message }),
);
