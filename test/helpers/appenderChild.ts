// Child process for the crash and concurrency tests: appends N events to a trail and prints
// "ack <seq> <hash> <event_id>" for each one as soon as append() resolves (i.e. it is durable).
import * as fs from "node:fs";
import { ed25519Signer } from "../../src/trail/trust/signing";
import { filePinKeeper } from "../../src/trail/trust/pinKeeper";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";

async function main(): Promise<void> {
  const [trailPath, countArg, tag, mode] = process.argv.slice(2);
  const count = Number(countArg);
  // Frequent snapshots, so that kills also land while one is being written in the background.
  const every = Number(process.env.AAT_SNAPSHOT_EVERY_BYTES ?? 0);
  // Small segments, so that kills also land while one is being sealed (signed, as a user's are).
  const sealBytes = process.env.AAT_SEAL_BYTES ? Number(process.env.AAT_SEAL_BYTES) : undefined;
  const keyFile = process.env.AAT_SIGNING_KEY;
  // A trust store (AAT_TRUST_DIR): sign, anchor and pin as the CLI and the extension do.
  const trust = process.env.AAT_TRUST_DIR ? new TrustStore(process.env.AAT_TRUST_DIR) : undefined;
  const { store } = await TrailStore.open(trailPath, {
    ...(every ? { minJournalBytesForSnapshot: every, snapshotJournalRatio: 0 } : {}),
    ...(sealBytes !== undefined ? { sealBytes } : {}),
    ...(keyFile ? { signer: ed25519Signer(fs.readFileSync(keyFile, "utf8")), checkpointEvery: 50 } : {}),
    ...(trust ? { signer: trust.signer(), checkpointEvery: 20, anchorDir: trust.anchorsDir, pins: filePinKeeper(trust.pins) } : {}),
  });
  const payload = "p".repeat(400);
  const one = async (i: number) => {
    const e = await store.append({
      session_id: `child-${tag}`,
      event_type: "tool_result",
      step_number: i,
      content: { tool_name: "run_command", outcome: "success", index: i, tag, output: payload },
    });
    process.stdout.write(`ack ${e.seq} ${e.hash} ${e.event_id}\n`);
  };
  if (mode === "burst") {
    // Waves of 100 appends in flight at once: group commit under load.
    for (let i = 0; i < count; i += 100) {
      const wave: Promise<void>[] = [];
      for (let j = i; j < Math.min(count, i + 100); j++) wave.push(one(j));
      await Promise.all(wave);
    }
  } else {
    // A pause between appends (AAT_APPEND_PAUSE_MS) keeps a long race's trail small enough to
    // verify many times over.
    const pause = Number(process.env.AAT_APPEND_PAUSE_MS ?? 0);
    for (let i = 0; i < count; i++) {
      await one(i);
      if (pause) await new Promise((r) => setTimeout(r, pause));
    }
  }
  await store.close();
  process.stdout.write("done\n");
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + "\n");
  process.exit(3);
});
