// Opens a trail in a fresh process (cold: engine load included) and reports time, memory
// and the time to verify the whole chain. Used by bench.ts.
import { TrailStore } from "../src/trail/store/trailStore";
import { loadSqlEngine } from "../src/trail/store/sqlEngine";
import { verifyTrail } from "../src/trail/integrity/verifyTrail";
import type { EventRecord } from "../src/trail/store/eventTypes";
import { canonicalEventText } from "../src/trail/integrity/hashChain";
import { leafHash, MerkleTree } from "../src/trail/integrity/merkle";
import { TrailReader } from "../src/trail/reading/trailReader";

async function main(): Promise<void> {
  const t0 = performance.now();
  const { store } = await TrailStore.open(process.argv[2]);
  const openMs = performance.now() - t0;
  const rssMb = process.memoryUsage().rss / 1024 / 1024;
  const t1 = performance.now();
  // Everything `agent-audit verify` checks: chain, checkpoint signatures, triggers, blobs.
  const report = verifyTrail(store.database, { sql: await loadSqlEngine(), segmentsDir: store.segmentsDir });
  const verifyMs = performance.now() - t1;
  if (!report.valid) throw new Error(`trail invalid: ${JSON.stringify(report.findings[0])}`);
  // The Merkle root on its own (part of verify above, and of every evidence bundle).
  const t2 = performance.now();
  const tree = new MerkleTree();
  for (const { db } of new TrailReader(store).databases()) {
    const stmt = db.prepare(`SELECT seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number, parent_event_id, model_id, system_prompt_hash, agent_version, content FROM events ORDER BY seq`);
    while (stmt.step()) tree.append(leafHash(canonicalEventText(stmt.getAsObject() as unknown as EventRecord)));
    stmt.free();
  }
  tree.root();
  const merkleMs = performance.now() - t2;
  process.stdout.write(JSON.stringify({ openMs, rssMb, verifyMs, merkleMs, events: report.events, checkpoints: report.checkpoints }) + "\n");
  await store.close();
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + "\n");
  process.exit(1);
});
