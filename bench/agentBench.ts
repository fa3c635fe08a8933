import { sessionEvents } from "../src/trail/reading/trailQueries";
import { benchSession } from "./benchRun";

/**
 * The runner's own cost per step: wall time of a session minus the time spent waiting for
 * the model (each llm_call's latency_ms, which includes the SDK and loopback HTTP) and
 * running tools (execution_time_ms). What is left is recording, redaction, hashing,
 * fsyncs and the loop itself. The local API answers instantly.
 */
export async function agentOverheadPerStep(steps = 40): Promise<{ overheadMs: number; stepMs: number }> {
  return benchSession("agent", steps, (store, outcome, wall) => {
    const events = sessionEvents(store.database, outcome.session_id);
    const waiting = events.reduce((sum, e) => sum + (e.latency_ms ?? 0) + (e.execution_time_ms ?? 0), 0);
    return { overheadMs: (wall - waiting) / steps, stepMs: wall / steps };
  });
}
