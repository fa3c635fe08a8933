import { randomUUID } from "node:crypto";
import { AGENT_ID } from "../../src/agent/agentDefaults";
import type { EventInput, StoredEvent } from "../../src/trail/store/eventTypes";
import type { TrailStore } from "../../src/trail/store/trailStore";

/**
 * Events shaped like the runner's (session_start, then per step an llm_call, tool calls and
 * their results, then session_end), for trails too big to record through the local API in a
 * test's time. `failures` of the tool results fail; outputs are ~`outputBytes` long.
 */
export function sessionEvents(opts: { sessionId?: string; task: string; steps: number; failures?: number; outputBytes?: number; end?: boolean }): EventInput[] {
  const session_id = opts.sessionId ?? randomUUID();
  const base = { session_id, agent_id: AGENT_ID, user_id: "e2e", agent_version: "0.1.0", model_id: "claude-sonnet-4-5" };
  const out: EventInput[] = [{ ...base, event_type: "session_start", step_number: 0, content: { task: opts.task, model_id: "claude-sonnet-4-5", tools: [] } }];
  const filler = "lorem ipsum dolor sit amet ".repeat(Math.ceil((opts.outputBytes ?? 600) / 27)).slice(0, opts.outputBytes ?? 600);
  let failuresLeft = opts.failures ?? 0;
  const failEvery = failuresLeft ? Math.max(1, Math.floor((opts.steps * 1.5) / failuresLeft)) : Infinity;
  let call = 0;
  for (let step = 1; step <= opts.steps; step++) {
    const calls = step % 2 ? 1 : 2;
    const uses = Array.from({ length: calls }, (_, i) => ({ type: "tool_use", id: `toolu_${step}_${i}`, name: i ? "run_command" : "read_file", input: i ? { command: `npm test -- step${step}` } : { path: `src/file${step}.ts` } }));
    out.push({
      ...base,
      event_type: "llm_call",
      step_number: step,
      content: {
        request: { model: "claude-sonnet-4-5", max_tokens: 4096, conversation_hash: "0".repeat(64), message_count: step * 2 - 1 },
        response: { content: [{ type: "text", text: `Step ${step}: looking at the next file. ${filler.slice(0, 200)}` }, ...uses], stop_reason: "tool_use" },
        output_text: `Step ${step}: looking at the next file.`,
        tool_calls_requested: uses.map((u) => ({ id: u.id, name: u.name })),
        usage: { input_tokens: 1200 + step * 40, output_tokens: 80, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        latency_ms: 900 + (step % 7) * 100,
        time_to_first_token_ms: 300,
        request_id: `req_${step}`,
        retries: 0,
      },
    });
    for (const u of uses) {
      call++;
      out.push({ ...base, event_type: "tool_call", step_number: step, content: { tool_name: u.name, tool_use_id: u.id, input: u.input, requires_approval: false } });
      const fail = failuresLeft > 0 && call % failEvery === 0;
      if (fail) failuresLeft--;
      out.push({
        ...base,
        event_type: "tool_result",
        step_number: step,
        content: fail
          ? { tool_name: u.name, outcome: "error", execution_time_ms: 40, error: { type: "command_failed", message: "command exited with code 1", detail: { exit_code: 1, stderr: filler.slice(0, 200) } } }
          : { tool_name: u.name, outcome: "success", execution_time_ms: 12, output: filler },
      });
    }
  }
  if (opts.end !== false) {
    out.push({ ...base, event_type: "session_end", step_number: opts.steps, content: { final_text: "Done.", stop_reason: "end_turn" } });
  }
  return out;
}

/** Gives events ids and links parents the way the runner does (tool_call → llm_call, tool_result → tool_call). */
export function linkEvents(events: EventInput[]): EventInput[] {
  const ids = events.map(() => randomUUID());
  let llm: string | undefined;
  let lastCall: string | undefined;
  return events.map((e, i) => {
    let parent: string | null = null;
    if (e.event_type === "llm_call") llm = ids[i];
    if (e.event_type === "tool_call") {
      parent = llm ?? null;
      lastCall = ids[i];
    }
    if (e.event_type === "tool_result") parent = lastCall ?? null;
    return { ...e, event_id: ids[i], parent_event_id: parent };
  });
}

/**
 * Appends events with parents linked the way the runner links them (see linkEvents). Appends
 * are issued together (group commit), so this is quick; with `chunk`, a few per commit, as a
 * running agent writes them (so seals fall inside sessions).
 */
export async function appendLinked(store: TrailStore, events: EventInput[], chunk = Infinity): Promise<StoredEvent[]> {
  const inputs = linkEvents(events);
  const out: StoredEvent[] = [];
  for (let k = 0; k < inputs.length; k += chunk) out.push(...(await Promise.all(inputs.slice(k, k + chunk).map((e) => store.append(e)))));
  return out;
}
