import { createHash } from "node:crypto";
import { queryAll } from "../trail/reading/trailQueries";
import type { TrailReader } from "../trail/reading/trailReader";

/**
 * Who a received session is, decided by us and not by the sender: its id is in a namespace of
 * its own (`otel-…`, which our agent, whose ids are UUIDs, never gives), a received record only
 * adds to a received session the same sender started, and its agent never passes for Agent
 * Audit's own (`agent-audit-trail`, `agent-audit-retention`).
 */
export const RECEIVED_SESSION_PREFIX = "otel-";

const clean = (v: string) => v.replace(/[^A-Za-z0-9._-]+/g, "-");
const sha = (v: string) => createHash("sha256").update(v).digest("hex");

/** The session id a group's records would have (before ownership is checked): always `otel-…`, a fixed alphabet, bounded. */
export function baseSessionId(group: string): string {
  let id: string;
  if (group.startsWith("trace:")) id = group.slice(6, 38);
  else if (group.startsWith("session:")) id = clean(group.slice(8).replace(":", "-"));
  else id = `service-${clean(group.replace(/^service:/, ""))}`;
  return id.length > 100 ? `${RECEIVED_SESSION_PREFIX}${sha(group).slice(0, 32)}` : `${RECEIVED_SESSION_PREFIX}${id}`;
}

/**
 * The session a group's records go to: its base id when that is new, or a received session
 * the same sender (service.name) started; else (another sender's, or anything else) an id of
 * its own derived from the sender and the group, so a sender can never add to a session it
 * did not start. `claimed` holds the ids given out in this pass (not in the trail yet).
 */
export function ownedSessionId<S>(group: string, service: string, reader: TrailReader, claimed: Map<string, string>, known: (id: string) => S | undefined): { id: string; known: S | undefined } {
  const base = baseSessionId(group);
  for (let i = 0; i < 16; i++) {
    const id = i === 0 ? base : `${base.slice(0, 100)}-${sha(`${service}\n${group}\n${i}`).slice(0, 12)}`;
    const claimant = claimed.get(id);
    if (claimant !== undefined && claimant !== service) continue;
    const summary = known(id);
    if (summary && claimant === undefined && startedBy(reader, id) !== service) continue;
    claimed.set(id, service);
    return { id, known: summary };
  }
  return { id: `${RECEIVED_SESSION_PREFIX}${sha(`${service}\n${group}\n${Date.now()}`).slice(0, 32)}`, known: undefined };
}

/** The sender that started a received session (its session_start's `received.service`), if it is one. */
function startedBy(reader: TrailReader, id: string): string | undefined {
  const row = queryAll<{ content: string }>(reader.sessionDatabase(id), "SELECT content FROM events WHERE session_id = ? AND event_type = 'session_start' ORDER BY seq LIMIT 1", [id])[0];
  if (!row) return undefined;
  try {
    const received = (JSON.parse(row.content) as { received?: { via?: unknown; service?: unknown } }).received;
    return received?.via === "otlp" && typeof received.service === "string" ? received.service : undefined;
  } catch {
    return undefined;
  }
}

/** The agent id a received session is recorded under: as the sender names it, unless it names one of ours. */
export function receivedAgentId(name: string): string {
  return /^\s*agent-audit/i.test(name) ? `${name.trim()} (received)` : name;
}

/** An event id (UUID-shaped) from the session and the record: the same record gives the same id. */
export function eventIdFor(sessionId: string, record: string, role: string): string {
  const h = sha(`${sessionId}\n${record}\n${role}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
