import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { canonicalJson } from "../../src/trail/integrity/canonicalJson";
import { conversationLink, ConversationError, requestMessages } from "../../src/trail/reading/conversation";
import { sha256Hex } from "../../src/trail/integrity/hashChain";
import { sessionEvents } from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import { verifyChain } from "../../src/trail/integrity/verifyChain";
import type { Turn } from "../fakeAnthropic/scenario";
import { c, ofType, runScenario } from "../helpers/agentHarness";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";

test("every request of a long session is rebuilt from a record that does not grow with the session", async (t) => {
  const steps = 60;
  const turns: Turn[] = [];
  for (let i = 0; i < steps - 1; i++) {
    turns.push({ content: [{ type: "text", text: `looking at step ${i}` }, { type: "tool_use", name: "read_file", input: { path: "src/greet.js" } }], stop_reason: "tool_use" });
  }
  turns.push({ content: [{ type: "text", text: "done" }], stop_reason: "end_turn" });
  const r = await runScenario(t, { turns }, { config: { maxIterations: steps + 5 } });
  assert.equal(r.outcome.status, "completed");
  const llm = ofType(r.events, "llm_call");
  assert.equal(llm.length, steps);
  const sizes = new Set<number>();
  for (const [i, e] of llm.entries()) {
    const request = c(e).request;
    // Same size at step 1 and step 60 (the counts' digits aside).
    sizes.add(canonicalJson({ ...request, message_count: 0 }).length);
    const sent = r.server.received[i].body as { messages: unknown[] };
    const rebuilt = requestMessages(r.store.database, request).map((m) => m.message);
    assert.equal(canonicalJson(rebuilt), canonicalJson(sent.messages), `request ${i + 1} differs from what the API received`);
  }
  assert.equal(sizes.size, 1, `request records vary in size: ${[...sizes]}`);
  const links = Number(r.store.database.exec("SELECT count(*) FROM blobs WHERE kind = 'conversation'")[0].values[0][0]);
  assert.equal(links, 2 * steps - 1, "one link per message, each stored once");
  assert.equal(verifyChain(r.store.database).problems.length, 0);

  // The by-hand recipe of docs/trail-format.md, with the sqlite3 CLI on the file.
  await r.store.flush();
  const seq = llm[steps - 1].seq;
  const recipe = fs.readFileSync(path.join(__dirname, "../../../docs/trail-format.md"), "utf8").match(/WITH RECURSIVE chain[\s\S]*?ORDER BY n DESC;/)![0];
  const out = sqlite3(r.trailPath, recipe.replace("seq = 42", `seq = ${seq}`));
  assert.equal(out.status, 0, out.stderr);
  const byHand = out.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.equal(canonicalJson(byHand), canonicalJson((r.server.received[steps - 1].body as { messages: unknown[] }).messages));
});

test("a trail in the old format (every message hash listed) still rebuilds and verifies", async (t) => {
  const trailPath = path.join(tempDir(t, "aat-oldreq-"), "trail.db");
  const { store } = await TrailStore.open(trailPath);
  t.after(() => store.close());
  const messages = [{ role: "user", content: "fix it" }, { role: "assistant", content: [{ type: "text", text: "ok" }] }, { role: "user", content: "thanks" }];
  const bodies = messages.map((m) => canonicalJson(m));
  const base = { session_id: "s-old", agent_id: "a", user_id: "u", agent_version: "0", model_id: "m", step_number: 1 };
  await store.append({ ...base, event_type: "session_start", step_number: 0, content: { task: "fix it" } });
  await store.append({
    ...base,
    event_type: "llm_call",
    content: { request: { model: "m", message_hashes: bodies.map((b) => sha256Hex(b)) }, response: { content: [] } },
    blobs: bodies.map((body) => ({ kind: "message" as const, body })),
  });
  await store.close();
  const { store: reopened } = await TrailStore.open(trailPath, { readOnly: true });
  t.after(() => reopened.close());
  const [, llm] = sessionEvents(reopened.database, "s-old");
  assert.deepEqual(requestMessages(reopened.database, JSON.parse(llm.content).request).map((m) => m.message), messages);
  assert.equal(verifyChain(reopened.database).problems.length, 0);
});

test("a request with a missing or overlong conversation says which blob, never a partial answer", async (t) => {
  const trailPath = path.join(tempDir(t, "aat-badreq-"), "trail.db");
  const { store } = await TrailStore.open(trailPath);
  t.after(() => store.close());
  const m1 = canonicalJson({ role: "user", content: "a" });
  const m2 = canonicalJson({ role: "user", content: "b" });
  const l1 = conversationLink(null, sha256Hex(m1));
  const l2 = conversationLink(l1.hash, sha256Hex(m2));
  await store.append({
    session_id: "s", agent_id: "a", user_id: "u", agent_version: "0", model_id: "m", step_number: 1, event_type: "llm_call",
    content: { request: { conversation_hash: l2.hash, message_count: 2 } },
    // m1's message blob is left out on purpose.
    blobs: [{ kind: "message", body: m2 }, { kind: "conversation", body: l1.body }, { kind: "conversation", body: l2.body }],
  });
  const db = store.database;
  assert.throws(() => requestMessages(db, { conversation_hash: l2.hash, message_count: 2 }), (e: Error) => e instanceof ConversationError && e.message.includes(sha256Hex(m1)));
  assert.throws(() => requestMessages(db, { conversation_hash: l2.hash, message_count: 1 }), /has 2 messages|longer than/);
  assert.throws(() => requestMessages(db, { conversation_hash: "0".repeat(64), message_count: 1 }), /conversation blob 0{64} is missing/);
});
