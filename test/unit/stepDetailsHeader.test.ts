// Step Details' header counts the steps its timeline lists, and an errored session says where
// its error is: a session_error recorded under a step that never ran is shown in the last step
// that did, and the header links to it.
import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { toHeader, toStepDetail, toStepSummaries, stepDetailSeqs } from "../../src/extension/stepDetailsModel";
import { parseSession } from "../../src/extension/sessionModel";
import { eventsBySeq, getSession, sessionEventHeads } from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import { tempDir } from "../helpers/tempDir";

test("an errored session: the header's step count is the timeline's, and it names the step that shows the error", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), ".agent-audit", "trail.db"));
  const id = "errored";
  const add = (event_type: string, step_number: number, content: Record<string, unknown>) => store.append({ session_id: id, event_type, step_number, content });
  await add("session_start", 0, { task: "do three things" });
  for (const step of [1, 2, 3]) {
    await add("llm_call", step, { response: { content: [{ type: "text", text: `step ${step}` }] }, usage: { input_tokens: 1, output_tokens: 1 } });
  }
  // The model call of step 4 failed before anything of step 4 was recorded.
  await add("session_error", 4, { error: { type: "api_error", message: "overloaded: the API refused the request" } });
  const db = store.database;
  const parsed = parseSession(getSession(db, id)!, sessionEventHeads(db, id));
  assert.equal(getSession(db, id)!.steps, 4, "the sessions view's own count includes the step that never ran");
  const header = toHeader(parsed.summary, null, parsed);
  assert.equal(header.steps, toStepSummaries(parsed).length, "the header counts the steps the timeline lists");
  assert.equal(header.steps, 3);
  assert.deepEqual(header.endedIn, { type: "session_error", step: 3 });
  const last = parsed.steps[parsed.steps.length - 1];
  const detail = toStepDetail(last, undefined, new Map(eventsBySeq(db, stepDetailSeqs(last)).map((e) => [e.seq, e])));
  assert.equal(detail.end?.type, "session_error");
  assert.match(detail.end?.message ?? "", /overloaded/, "the error's message is in the step the header names");
  await store.close();
});
