import assert from "node:assert/strict";
import { test } from "node:test";
import { sessionCost, toStepDetail, toStepSummaries, stepDetailSeqs } from "../../src/extension/stepDetailsModel";
import { parseSession } from "../../src/extension/sessionModel";
import { costOf, pricing } from "../../src/shared/pricing";
import { formatUsd } from "../../src/shared/usd";
import { eventsBySeq, getSession, sessionEventHeads } from "../../src/trail/reading/trailQueries";
import { runScenario } from "../helpers/agentHarness";

test("prices: from the maintained price data (our default model, Claude Code's, other providers'), as of a call's date; settings override; unknown models have none", () => {
  const p = pricing({ "claude-sonnet-4-5": { input: 1, output: 2, cacheWrite: 3, cacheRead: 4 }, "my-model": { input: 9, output: 9, cacheWrite: 9, cacheRead: 9 }, broken: { input: "free" } });
  assert.equal(p.priceOf("claude-sonnet-4-5-20250929")?.input, 1, "the user's setting wins over the data");
  assert.match(p.priceOf("claude-sonnet-4-5")!.source, /agentAudit\.modelPrices/);
  const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9;
  assert.ok(near(pricing().priceOf("claude-sonnet-4-5-20250929")?.input, 3), "a dated id is its model, below the long-context tier");
  assert.match(pricing().priceOf("claude-opus-4-5")!.source, /genai-prices [\d.]+ \(Anthropic prices as of \d{4}-\d{2}-\d{2}\)/);
  assert.ok(near(pricing().priceOf("claude-opus-4-5-20251101")?.output, 25), "opus 4.5, not opus 4");
  assert.ok(near(pricing().priceOf("claude-opus-4-20250514")?.output, 75));
  for (const model of ["claude-sonnet-5", "claude-opus-5-5", "gpt-5", "gemini-2.5-pro"]) assert.ok(pricing().priceOf(model), `${model} has a price`);
  assert.equal(p.priceOf("my-model")?.output, 9);
  assert.equal(p.priceOf("broken"), undefined, "an invalid setting is ignored, not priced at zero");
  assert.equal(pricing().priceOf("no-such-model-xyz"), undefined, "an unknown model has no price");
  assert.ok(near(pricing().priceOf("claude-3-5-haiku-latest")?.input, 0.8));
  assert.equal(pricing().priceOf(null), undefined);
  assert.match(pricing().priceOf("claude-opus-4-5", "2026-02-01T10:00:00.000Z")!.source, /as of 2026-02-01/, "priced as of the call's own date");
  // A call past the long-context threshold is priced at the data's tier, not the flat price.
  const sonnet = pricing().priceOf("claude-sonnet-4-5")!;
  assert.ok(near(costOf({ input_tokens: 100_000 }, sonnet), 0.3) && near(costOf({ input_tokens: 300_000 }, sonnet), 1.8), `${costOf({ input_tokens: 300_000 }, sonnet)}`);
});

test("cost: input, output, cache writes and cache reads each at its own price", () => {
  const price = { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 };
  assert.equal(costOf({ input_tokens: 1_000_000 }, price), 3);
  assert.equal(costOf({ output_tokens: 1_000_000 }, price), 15);
  assert.equal(costOf({ cache_creation_input_tokens: 1_000_000 }, price), 3.75);
  assert.equal(costOf({ cache_read_input_tokens: 1_000_000 }, price), 0.3);
  assert.ok(Math.abs(costOf({ input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 5000, cache_creation_input_tokens: 100 }, price) - 0.009975) < 1e-12);
  assert.deepEqual([formatUsd(0), formatUsd(0.008475), formatUsd(0.53), formatUsd(1234.5)], ["$0.00", "$0.0085", "$0.530", "$1,234.50"]);
});

test("a session's model calls, steps and total are priced from the recorded usage; an unknown model shows tokens only", async (t) => {
  const turns = [
    { content: [{ type: "tool_use" as const, name: "read_file", input: { path: "README.md" } }], usage: { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 4000, cache_creation_input_tokens: 500 } },
    { content: [{ type: "text" as const, text: "done" }], usage: { input_tokens: 2000, output_tokens: 100 } },
  ];
  const r = await runScenario(t, { turns }, { config: { model: "claude-sonnet-4-5-20250929" } });
  const db = r.store.database;
  const id = r.events[0].session_id;
  const session = parseSession(getSession(db, id)!, sessionEventHeads(db, id));
  const p = pricing();
  const steps = toStepSummaries(session, undefined, p);
  const first = (1000 * 3 + 200 * 15 + 500 * 3.75 + 4000 * 0.3) / 1e6;
  const second = (2000 * 3 + 100 * 15) / 1e6;
  assert.ok(Math.abs(steps[0].costUsd! - first) < 1e-12 && Math.abs(steps[1].costUsd! - second) < 1e-12);
  assert.ok(Math.abs(sessionCost(session, p)! - (first + second)) < 1e-12);
  const rows = new Map(eventsBySeq(db, stepDetailSeqs(session.steps[0], session.steps[1])).map((e) => [e.seq, e]));
  const detail = toStepDetail(session.steps[0], session.steps[1], rows, p);
  assert.equal(detail.llm?.cacheWriteTokens, 500);
  assert.ok(Math.abs(detail.llm!.costUsd! - first) < 1e-12);
  // The same session under a model the table does not know: tokens, no price.
  const unknown = pricing({});
  const renamed = parseSession(getSession(db, id)!, sessionEventHeads(db, id).map((h) => ({ ...h, model_id: "claude-unknown-9" })));
  assert.equal(toStepSummaries(renamed, undefined, unknown)[0].costUsd, null);
  assert.equal(sessionCost(renamed, unknown), null);
});
