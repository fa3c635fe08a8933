// Received data is signed like our own: a session that arrived a moment before `collect` was
// stopped with Ctrl-C is in the trail and covered by a checkpoint of the user's key, so verify
// says "valid and authenticated" (not exit 3, "not authenticated").
import assert from "node:assert/strict";
import { test } from "node:test";
import { cli, newUser, send, sessionSpans, sessions, startCollect, tracesBody } from "./receiverHarness";

const json = { "content-type": "application/json" };

test("collect stopped with Ctrl-C right after a session arrived leaves it in the trail, signed", { timeout: 60_000 }, async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  const r = await send(`${c.url}/v1/traces`, tracesBody("copilot", sessionSpans("e".repeat(32), { agent: "copilot", command: "npm test" })), { ...json, ...c.auth });
  assert.equal(r.status, 200);
  const stopped = await c.stop();
  assert.deepEqual((await sessions(u)).map((s) => s.agent_id), ["copilot"], `the session is in the trail:\n${stopped.out}`);
  const verify = await cli(u, ["verify", "--workspace", u.ws]);
  assert.equal(verify.code, 0, verify.out);
  assert.match(verify.out, /valid and authenticated/i);
});
