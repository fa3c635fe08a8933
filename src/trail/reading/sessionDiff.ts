import type { Database } from "sql.js";
import { canonicalJson } from "../integrity/canonicalJson";
import { TERMINAL_EVENT_TYPES } from "../store/eventTypes";
import { getSession, sessionEvents } from "./trailQueries";
import type { SessionSummary, TrailEventRow } from "./trailQueries";

export interface ToolSide {
  name: string;
  input: unknown;
  outcome: "success" | "error" | "pending";
  errorType: string | null;
  durationMs: number | null;
}

export interface StepSide {
  step: number;
  tools: ToolSide[];
  inputTokens: number;
  outputTokens: number;
  modelMs: number | null;
}

export interface DiffRow {
  step: number;
  a?: StepSide;
  b?: StepSide;
  /** Same tools in the same order with the same inputs and outcomes. */
  same: boolean;
  /** What differs, in words, when not the same. */
  differences: string[];
}

export interface SessionDiff {
  a: SessionSummary;
  b: SessionSummary;
  rows: DiffRow[];
  /** The first step that differs; undefined when the sessions did the same things. */
  firstDivergence?: number;
}

/** Two sessions side by side, aligned by step: tool sequence, inputs, outcomes, tokens, durations. */
export function diffSessions(db: Database, aId: string, bId: string): SessionDiff {
  const a = getSession(db, aId);
  const b = getSession(db, bId);
  if (!a) throw new Error(`No session ${aId}`);
  if (!b) throw new Error(`No session ${bId}`);
  const stepsA = stepsOf(sessionEvents(db, aId));
  const stepsB = stepsOf(sessionEvents(db, bId));
  const n = Math.max(stepsA.length, stepsB.length);
  const rows: DiffRow[] = [];
  for (let i = 0; i < n; i++) {
    const sa = stepsA[i];
    const sb = stepsB[i];
    const differences = compare(sa, sb);
    rows.push({ step: i + 1, a: sa, b: sb, same: differences.length === 0, differences });
  }
  return { a, b, rows, firstDivergence: rows.find((r) => !r.same)?.step };
}

function stepsOf(events: TrailEventRow[]): StepSide[] {
  const steps = new Map<number, StepSide>();
  const calls = new Map<string, ToolSide>();
  for (const e of events) {
    // A step is a model call and what it triggered; a session's end (and an older replay's
    // stop recorded under the next step number) does not make a step of its own.
    if (e.step_number < 1 || TERMINAL_EVENT_TYPES.includes(e.event_type)) continue;
    let st = steps.get(e.step_number);
    if (!st) {
      st = { step: e.step_number, tools: [], inputTokens: 0, outputTokens: 0, modelMs: null };
      steps.set(e.step_number, st);
    }
    if (e.event_type === "llm_call") {
      st.inputTokens = e.input_tokens ?? 0;
      st.outputTokens = e.output_tokens ?? 0;
      st.modelMs = e.latency_ms;
    } else if (e.event_type === "tool_call") {
      const c = JSON.parse(e.content);
      const t: ToolSide = { name: c.tool_name, input: c.input ?? c.raw_input ?? null, outcome: "pending", errorType: null, durationMs: null };
      calls.set(e.event_id, t);
      st.tools.push(t);
    } else if (e.event_type === "tool_result" && e.parent_event_id && calls.has(e.parent_event_id)) {
      const t = calls.get(e.parent_event_id)!;
      t.outcome = e.outcome === "error" ? "error" : "success";
      t.errorType = e.error_type;
      t.durationMs = e.execution_time_ms;
    }
  }
  return [...steps.values()].sort((x, y) => x.step - y.step);
}

function compare(a: StepSide | undefined, b: StepSide | undefined): string[] {
  if (!a) return ["only in the second session"];
  if (!b) return ["only in the first session"];
  const out: string[] = [];
  const n = Math.max(a.tools.length, b.tools.length);
  for (let i = 0; i < n; i++) {
    const ta = a.tools[i];
    const tb = b.tools[i];
    if (!ta || !tb) {
      out.push(`tool call ${i + 1}: ${ta ? ta.name : "none"} vs ${tb ? tb.name : "none"}`);
      continue;
    }
    if (ta.name !== tb.name) out.push(`tool call ${i + 1}: ${ta.name} vs ${tb.name}`);
    else if (canonicalJson(ta.input ?? null) !== canonicalJson(tb.input ?? null)) out.push(`${ta.name}: different input`);
    if (ta.outcome !== tb.outcome || ta.errorType !== tb.errorType) {
      out.push(`${ta.name}: ${ta.errorType ?? ta.outcome} vs ${tb.errorType ?? tb.outcome}`);
    }
  }
  return out;
}
