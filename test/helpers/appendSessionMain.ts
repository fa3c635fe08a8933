// Another process appending to a trail, as the CLI or a second window would:
//   node appendSessionMain.js TRAIL EVENTS INTERVAL_MS TASK
// Appends one session of EVENTS events (as steps of llm_call, tool_call, tool_result) one by
// one through the real store, INTERVAL_MS apart, and prints a JSON line per acknowledged
// event ({"seq","at"}) and a last one {"done":true,"lastAckAt","steps"}.
import { randomUUID } from "node:crypto";
import { TrailStore } from "../../src/trail/store/trailStore";
import { sessionEvents } from "./bigSession";

async function main(): Promise<void> {
  const [trail, count, interval, task] = process.argv.slice(2);
  const total = Number(count);
  const steps = Math.ceil(total / 4);
  const events = sessionEvents({ sessionId: randomUUID(), task, steps }).slice(0, total);
  const { store } = await TrailStore.open(trail);
  let lastAckAt = 0;
  let lastStep = 0;
  for (const e of events) {
    const stored = await store.append(e);
    lastAckAt = Date.now();
    lastStep = Math.max(lastStep, stored.step_number);
    process.stdout.write(`${JSON.stringify({ seq: stored.seq, at: lastAckAt })}\n`);
    await new Promise((r) => setTimeout(r, Number(interval)));
  }
  await store.close();
  process.stdout.write(`${JSON.stringify({ done: true, lastAckAt, steps: lastStep })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
