import type { SessionSummary } from "../trail/reading/trailQueries";

/**
 * The Sessions view's filter, typed as one line: words are searched in the trail's full-text
 * index (task, tool inputs and outputs, model text), and `key:value` terms narrow by fields:
 * `status:completed|failed|cancelled|running|diverged|timeout`, `agent:…`, `model:…`,
 * `has:failures`, `after:YYYY-MM-DD`, `before:YYYY-MM-DD`.
 */
export interface SessionFilter {
  /** What was typed. */
  line: string;
  /** Words for the full-text index (all must occur in one event of the session). */
  text: string;
  status?: string;
  agent?: string;
  model?: string;
  hasFailures?: boolean;
  /** Inclusive dates (YYYY-MM-DD, compared with the session's start in UTC). */
  after?: string;
  before?: string;
  /** Terms that were not understood, named back to the user. */
  unknown: string[];
}

export const FILTER_HELP = "words to search, and status:failed, agent:…, model:…, has:failures, after:2026-11-01, before:…";

/** "failed" is what a user says; the trail says "error". */
const STATUS_WORDS: Record<string, string> = {
  completed: "completed", failed: "error", error: "error", cancelled: "cancelled", canceled: "cancelled",
  running: "running", diverged: "diverged", timeout: "timeout",
};

export function parseFilter(line: string): SessionFilter | undefined {
  const f: SessionFilter = { line: line.trim(), text: "", unknown: [] };
  const words: string[] = [];
  for (const term of line.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(status|agent|model|has|after|before):(.*)$/i.exec(term);
    if (!m) {
      words.push(term);
      continue;
    }
    const [key, value] = [m[1].toLowerCase(), m[2]];
    if (key === "status" && STATUS_WORDS[value.toLowerCase()]) f.status = STATUS_WORDS[value.toLowerCase()];
    else if (key === "agent" && value) f.agent = value;
    else if (key === "model" && value) f.model = value;
    else if (key === "has" && /^fail(ures?|ed)?$/i.test(value)) f.hasFailures = true;
    else if ((key === "after" || key === "before") && /^\d{4}-\d{2}-\d{2}$/.test(value)) f[key] = value;
    else f.unknown.push(term);
  }
  f.text = words.join(" ");
  const empty = !f.text && !f.status && !f.agent && !f.model && !f.hasFailures && !f.after && !f.before && !f.unknown.length;
  return empty ? undefined : f;
}

/** The filter in a few words, for the view's description. */
export function describeFilter(f: SessionFilter): string {
  const parts: string[] = [];
  if (f.text) parts.push(`"${f.text}"`);
  if (f.status) parts.push(`status ${f.status === "error" ? "failed" : f.status}`);
  if (f.agent) parts.push(`agent ${f.agent}`);
  if (f.model) parts.push(`model ${f.model}`);
  if (f.hasFailures) parts.push("with failed tool calls");
  if (f.after) parts.push(`from ${f.after}`);
  if (f.before) parts.push(`to ${f.before}`);
  if (f.unknown.length) parts.push(`(not understood: ${f.unknown.join(" ")})`);
  return parts.join(", ");
}

/** Whether a session passes the field terms (the text is matched through the index). */
export function matchesFields(f: SessionFilter, s: SessionSummary): boolean {
  if (f.status && s.status !== f.status) return false;
  if (f.agent && !s.agent_id.toLowerCase().includes(f.agent.toLowerCase())) return false;
  if (f.model && !(s.model_id ?? "").toLowerCase().includes(f.model.toLowerCase())) return false;
  if (f.hasFailures && !s.failed_tool_calls) return false;
  const day = s.started_at.slice(0, 10);
  if (f.after && day < f.after) return false;
  if (f.before && day > f.before) return false;
  return true;
}

/** The day groups of the Sessions view, newest first: Today, Yesterday, This week, then months. */
export interface DayGroup {
  key: string;
  label: string;
}

/** The group of a session started at `iso`, in local time, relative to `now`. */
export function dayGroupOf(iso: string, now: number): DayGroup {
  const started = new Date(iso);
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const day = 86_400_000;
  const t = started.getTime();
  if (t >= midnight.getTime()) return { key: "0-today", label: "Today" };
  if (t >= midnight.getTime() - day) return { key: "1-yesterday", label: "Yesterday" };
  if (t >= midnight.getTime() - 6 * day) return { key: "2-week", label: "Earlier this week" };
  const month = `${started.getFullYear()}-${String(started.getMonth() + 1).padStart(2, "0")}`;
  return { key: `3-${month}`, label: started.toLocaleString("en-US", { month: "long", year: "numeric" }) };
}
