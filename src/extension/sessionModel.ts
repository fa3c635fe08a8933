import { TERMINAL_EVENT_TYPES } from "../trail/store/eventTypes";
import type { EventHead, SessionSummary, TrailEventRow } from "../trail/reading/trailQueries";

/** A tool call with what followed it: the approval and the result. */
export interface ToolCallGroup {
  call: EventHead;
  approval?: EventHead;
  result?: EventHead;
  /** Later re-runs of this call (tool_retry events), oldest first. */
  retries: EventHead[];
}

export interface ParsedStep {
  step: number;
  events: EventHead[];
  llm?: EventHead;
  toolCalls: ToolCallGroup[];
  /** The session's terminal event, when the session ended in this step. */
  end?: EventHead;
}

/**
 * One session's events grouped the way people read them: steps, each a model call and its
 * tool calls. Built from event heads (no content), and extended in place as events arrive,
 * so a session being appended to is never re-read.
 */
export class ParsedSession {
  start?: EventHead;
  end?: EventHead;
  /** In step order. */
  readonly steps: ParsedStep[] = [];
  /** The last seq taken in. */
  lastSeq = 0;
  private readonly byStep = new Map<number, ParsedStep>();
  private readonly calls = new Map<string, ToolCallGroup>();

  constructor(public summary: SessionSummary) {}

  step(n: number): ParsedStep | undefined {
    return this.byStep.get(n);
  }

  /** Takes in events (in seq order, after lastSeq); returns the steps they touched. */
  add(events: EventHead[]): Set<number> {
    const touched = new Set<number>();
    for (const e of events) {
      if (e.seq <= this.lastSeq) continue;
      this.lastSeq = e.seq;
      if (e.event_type === "session_start") {
        this.start = e;
        continue;
      }
      const step = this.stepOf(this.stepFor(e));
      touched.add(step.step);
      step.events.push(e);
      switch (e.event_type) {
        case "llm_call":
          step.llm = e;
          break;
        case "tool_call": {
          const g: ToolCallGroup = { call: e, retries: [] };
          this.calls.set(e.event_id, g);
          step.toolCalls.push(g);
          break;
        }
        case "approval":
          if (e.parent_event_id && this.calls.has(e.parent_event_id)) this.calls.get(e.parent_event_id)!.approval = e;
          break;
        case "tool_result":
          if (e.parent_event_id && this.calls.has(e.parent_event_id)) this.calls.get(e.parent_event_id)!.result = e;
          break;
        case "tool_retry":
          if (e.parent_event_id && this.calls.has(e.parent_event_id)) this.calls.get(e.parent_event_id)!.retries.push(e);
          break;
        default:
          if (TERMINAL_EVENT_TYPES.includes(e.event_type)) {
            step.end = e;
            this.end = e;
          }
      }
    }
    return touched;
  }

  private stepOf(n: number): ParsedStep {
    let s = this.byStep.get(n);
    if (!s) {
      s = { step: n, events: [], toolCalls: [] };
      this.byStep.set(n, s);
      // Steps nearly always arrive in order; keep the array sorted when one does not.
      const last = this.steps[this.steps.length - 1];
      if (!last || last.step < n) this.steps.push(s);
      else this.steps.splice(this.steps.findIndex((x) => x.step > n), 0, s);
    }
    return s;
  }

  /**
   * The step an event is shown in. A session's end belongs to the last step that ran: older
   * replays recorded their stop under the next, never-started step number, which must not
   * read as a step of its own.
   */
  private stepFor(e: EventHead): number {
    const n = Math.max(1, e.step_number);
    if (TERMINAL_EVENT_TYPES.includes(e.event_type) && !this.byStep.has(n) && this.steps.length) return this.steps[this.steps.length - 1].step;
    return n;
  }
}

export function parseSession(summary: SessionSummary, events: EventHead[]): ParsedSession {
  const p = new ParsedSession(summary);
  p.add(events);
  return p;
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

/** Where a step is in steps sorted by number (binary search); -1 if absent. */
export function indexOfStep(steps: ParsedStep[], step: number): number {
  let lo = 0;
  let hi = steps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid].step === step) return mid;
    if (steps[mid].step < step) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Tools whose input names a workspace file (the tree offers "Reveal File" for them). */
export const FILE_TOOLS = new Set(["read_file", "write_file", "edit_file", "list_directory"]);
