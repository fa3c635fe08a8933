import { inputSummary } from "../shared/inputSummary";
import type { FailedToolCall } from "../trail/reading/trailQueries";

/** One failure in the Failed Tool Calls view. */
export interface FailureItem {
  folder: string;
  sessionId: string;
  step: number;
  callEventId: string;
  resultEventId: string;
  toolName: string;
  errorType: string;
  message: string;
  input: string;
  time: string;
  retriedOk: boolean;
}

export interface FailureGroup {
  toolName: string;
  count: number;
  byType: { errorType: string; items: FailureItem[] }[];
}

/**
 * Failures across sessions grouped by tool, then by error type, newest first inside each
 * group and groups ordered by how often they happen. A failure whose later retry succeeded
 * is marked, so what still needs attention stands out.
 */
export function groupFailures(folder: string, failures: FailedToolCall[], retriedOk: Set<string>): FailureGroup[] {
  const byTool = new Map<string, Map<string, FailureItem[]>>();
  for (const f of failures) {
    if (f.result.event_type !== "tool_result") continue; // retries that failed belong to their original
    const c = JSON.parse(f.result.content);
    const tool = f.result.tool_name ?? "?";
    const type = f.result.error_type ?? "?";
    const item: FailureItem = {
      folder,
      sessionId: f.result.session_id,
      step: f.result.step_number,
      callEventId: f.call?.event_id ?? f.result.parent_event_id ?? "",
      resultEventId: f.result.event_id,
      toolName: tool,
      errorType: type,
      message: c.error?.message ?? "",
      input: f.call ? inputSummary(tool, JSON.parse(f.call.content).input, 50) : "",
      time: f.result.timestamp,
      retriedOk: retriedOk.has(f.call?.event_id ?? ""),
    };
    const types = byTool.get(tool) ?? new Map<string, FailureItem[]>();
    byTool.set(tool, types);
    types.set(type, [...(types.get(type) ?? []), item]);
  }
  return [...byTool]
    .map(([toolName, types]) => ({
      toolName,
      count: [...types.values()].reduce((n, l) => n + l.length, 0),
      byType: [...types].map(([errorType, items]) => ({ errorType, items })).sort((a, b) => b.items.length - a.items.length),
    }))
    .sort((a, b) => b.count - a.count || a.toolName.localeCompare(b.toolName));
}
