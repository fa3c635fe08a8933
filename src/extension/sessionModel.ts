import { TERMINAL_EVENT_TYPES } from "../trail/eventTypes";
import type { SessionSummary, TrailEventRow } from "../trail/trailQueries";

/** A tool call with what followed it: the approval and the result. */
export interface ToolCallGroup {
  call: TrailEventRow;
  approval?: TrailEventRow;
  result?: TrailEventRow;
  /** Later re-runs of this call (tool_retry events), oldest first. */
  retries: TrailEventRow[];
}

export interface ParsedStep {
  step: number;
  events: TrailEventRow[];
  llm?: TrailEventRow;
  toolCalls: ToolCallGroup[];
  /** The session's terminal event, when the session ended in this step. */
  end?: TrailEventRow;
}

/** One session's events grouped the way people read them: steps, each a model call and its tool calls. */
export interface ParsedSession {
  summary: SessionSummary;
  start?: TrailEventRow;
  steps: ParsedStep[];
  end?: TrailEventRow;
}

const parsed = new WeakMap<TrailEventRow, Record<string, unknown>>();

/** An event's content as an object (parsed once per row). */
export function contentOf(e: TrailEventRow): Record<string, any> {
  let c = parsed.get(e);
  if (!c) {
    c = JSON.parse(e.content) as Record<string, unknown>;
    parsed.set(e, c);
  }
  return c;
}

export function parseSession(summary: SessionSummary, events: TrailEventRow[]): ParsedSession {
  const steps = new Map<number, ParsedStep>();
  const calls = new Map<string, ToolCallGroup>();
  const out: ParsedSession = { summary, steps: [] };
  const stepOf = (n: number) => {
    let s = steps.get(n);
    if (!s) {
      s = { step: n, events: [], toolCalls: [] };
      steps.set(n, s);
    }
    return s;
  };
  for (const e of events) {
    if (e.event_type === "session_start") {
      out.start = e;
      continue;
    }
    const step = stepOf(stepFor(e, steps));
    step.events.push(e);
    switch (e.event_type) {
      case "llm_call":
        step.llm = e;
        break;
      case "tool_call": {
        const g: ToolCallGroup = { call: e, retries: [] };
        calls.set(e.event_id, g);
        step.toolCalls.push(g);
        break;
      }
      case "approval":
        if (e.parent_event_id && calls.has(e.parent_event_id)) calls.get(e.parent_event_id)!.approval = e;
        break;
      case "tool_result":
        if (e.parent_event_id && calls.has(e.parent_event_id)) calls.get(e.parent_event_id)!.result = e;
        break;
      case "tool_retry":
        if (e.parent_event_id && calls.has(e.parent_event_id)) calls.get(e.parent_event_id)!.retries.push(e);
        break;
      default:
        if (TERMINAL_EVENT_TYPES.includes(e.event_type)) {
          step.end = e;
          out.end = e;
        }
    }
  }
  out.steps = [...steps.values()].sort((a, b) => a.step - b.step);
  return out;
}

/**
 * The step an event is shown in. A session's end belongs to the last step that ran: older
 * replays recorded their stop under the next, never-started step number, which must not
 * read as a step of its own.
 */
function stepFor(e: TrailEventRow, steps: Map<number, ParsedStep>): number {
  const n = Math.max(1, e.step_number);
  if (TERMINAL_EVENT_TYPES.includes(e.event_type) && !steps.has(n) && steps.size) return Math.max(...steps.keys());
  return n;
}

/** Tools whose input names a workspace file (the tree offers "Reveal File" for them). */
export const FILE_TOOLS = new Set(["read_file", "write_file", "edit_file", "list_directory"]);
