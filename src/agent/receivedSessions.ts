import type { Database } from "sql.js";
import { queryAll } from "../trail/reading/trailQueries";

/**
 * Whether a session, or one event of it, was received from another agent (over OTLP) rather
 * than recorded by our own agent: retry and replay run our tools with our recorded inputs, so
 * they refuse anything a sender wrote. Received events carry `content.received`, and received
 * sessions have `otel-` ids (which our agent, whose ids are UUIDs, never gives).
 */
export function receivedFrom(db: Database, sessionId: string, eventContent?: string): string | undefined {
  const own = (content: string | undefined) => {
    if (!content) return undefined;
    try {
      const r = (JSON.parse(content) as { received?: { via?: unknown; service?: unknown } }).received;
      if (!r) return undefined;
      const who = typeof r.service === "string" ? r.service : "another agent";
      // How it came: over OTLP, or from another agent's own hooks and transcript (src/capture).
      if (r.via === "otlp") return `${who} over OpenTelemetry (OTLP)`;
      if (typeof r.via === "string" && r.via.startsWith("claude-code")) return "Claude Code through its hooks and transcript";
      return who;
    } catch {
      return undefined;
    }
  };
  const fromEvent = own(eventContent);
  if (fromEvent) return fromEvent;
  const row = queryAll<{ content: string }>(db, "SELECT content FROM events WHERE session_id = ? AND json_extract(content, '$.received') IS NOT NULL LIMIT 1", [sessionId])[0];
  if (row) return own(row.content) ?? "another agent";
  if (sessionId.startsWith("otel-")) return "another agent over OpenTelemetry (OTLP)";
  return sessionId.startsWith("claude-code-") ? "Claude Code through its hooks and transcript" : undefined;
}

/** The one line retry and replay give for a received session. */
export function receivedRefusal(sender: string, what: string): string {
  return `This ${what} was received from ${sender}, not recorded by Agent Audit's own agent: it can be viewed and verified, but only Agent Audit's own ${what === "tool call" ? "tool calls can be retried" : "sessions can be replayed"}`;
}
