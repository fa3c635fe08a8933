import * as path from "node:path";
import { writeEvidenceBundle } from "../src/trail/evidence/evidenceBundle";
import { verifyBundle } from "../src/trail/evidence/evidenceVerifier";
import { noteVerifierKey, trailOrigin } from "../src/trail/integrity/signedNote";
import { parseVerifierKey } from "../src/trail/integrity/c2spNote";
import { TrailReader } from "../src/trail/reading/trailReader";
import { TrailStore } from "../src/trail/store/trailStore";
import { TrustStore } from "../src/trail/trust/trustStore";
import { appendLinked, sessionEvents } from "../test/helpers/bigSession";
import { benchDir, median } from "./benchRun";

/**
 * Events an auditor's verifier checks per second (signature, every inclusion proof, the
 * coverage): a bundle of one 2,000-step session (verify-bundle.js's work, in process), after
 * three other sessions; median of five after a warm-up.
 */
export async function evidenceVerifyEventsPerSecond(): Promise<number> {
  const dir = benchDir("evidence");
  const trust = new TrustStore(path.join(dir, "config"));
  const { store } = await TrailStore.open(path.join(dir, ".agent-audit", "trail.db"), { signer: trust.signer() });
  for (let i = 0; i < 3; i++) await appendLinked(store, sessionEvents({ task: `before ${i}`, steps: 20, failures: 1 }));
  const events = sessionEvents({ task: "the audited one", steps: 2000, failures: 10 });
  await appendLinked(store, events);
  const session = events[0].session_id;
  const seqs = store.database.exec("SELECT seq FROM events WHERE session_id = ? ORDER BY seq", [session])[0].values.map((r) => Number(r[0]));
  const out = path.join(dir, "bundle");
  writeEvidenceBundle({ databases: new TrailReader(store).databases(), trailId: store.trailId, seqs, session, signer: trust.signer(), verifierScript: __filename, out });
  const key = parseVerifierKey(noteVerifierKey(trailOrigin(store.trailId), trust.signer().key.public_key));
  await store.close();
  const rates: number[] = [];
  for (let round = 0; round < 6; round++) {
    const t = performance.now();
    const r = verifyBundle(out, { keys: [key] });
    const s = (performance.now() - t) / 1000;
    if (!r.ok || !r.trusted) throw new Error(`the bench bundle does not verify: ${r.problems.join("; ")}`);
    if (round > 0) rates.push(r.events / s);
  }
  return Math.round(median(rates));
}
