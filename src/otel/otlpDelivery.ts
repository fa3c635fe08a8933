import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Database } from "sql.js";
import { ConversationError, requestMessages } from "../trail/reading/conversation";
import { writeFileAtomic } from "../trail/store/durableFile";
import type { TrailEventRow } from "../trail/reading/trailQueries";
import { sessionEvents } from "../trail/reading/trailQueries";
import { TrailReader } from "../trail/reading/trailReader";
import type { TrailStore } from "../trail/store/trailStore";
import { sessionSpansSoFar, sessionToSpans } from "./genaiMapping";
import type { GenAiSpan } from "./genaiMapping";
import type { OtlpTarget } from "./otlpExport";
import { exportSpans, toReadableSpans, tracesUrl } from "./otlpExport";

/** `changedAfter`: the sessions with an event after that seq (a live export's next look). */
export type SessionSelection = { all: true } | { since: Date } | { sessionId: string } | { changedAfter: number };

export interface DeliveryRequest {
  store: TrailStore;
  target: OtlpTarget;
  select: SessionSelection;
  /** Export message content, tool arguments and results (already redacted in the trail). */
  content?: boolean;
  /** Where the cursor lives: outside the trail (the user's config folder), one file per trail and endpoint. */
  cursorDir: string;
  service: { name: string; version: string };
  /**
   * Also send what running sessions have completed so far (each model call, each tool call with
   * its result; the session's own span when it ends): the extension's live export. Default: only
   * ended sessions.
   */
  includeRunning?: boolean;
  /** Spans per request (default 500). */
  batchSpans?: number;
  onProgress?: (sessionsDone: number, sessionsTotal: number) => void;
}

export interface DeliveryResult {
  /** Sessions sent now, and their spans. */
  sessions: number;
  spans: number;
  /** Sessions the cursor says this endpoint already has (unchanged since). */
  alreadyDelivered: number;
  /** Selected sessions still running: they go once they end (with `includeRunning`, what they completed so far went). */
  running: number;
}

interface Cursor {
  trail_id: string;
  endpoint: string;
  /**
   * session id → a seq: every span of the session completed by that event was delivered (a
   * span's `doneSeq`). For an ended session that is its last seq.
   */
  delivered: Record<string, number>;
}

/** The cursor file of a trail and an endpoint (their hash names it: the endpoint may hold a token in its query). */
export function cursorFile(dir: string, trailId: string, endpoint: string): string {
  return path.join(dir, `${createHash("sha256").update(`${trailId}\n${tracesUrl(endpoint)}`).digest("hex").slice(0, 32)}.json`);
}

function readCursor(file: string, trailId: string, endpoint: string): Cursor {
  try {
    const c = JSON.parse(fs.readFileSync(file, "utf8")) as Cursor;
    if (c.trail_id === trailId && c.delivered && typeof c.delivered === "object") return c;
  } catch {
    /* none yet, or unreadable: start over (ids are deterministic, a re-send changes nothing) */
  }
  return { trail_id: trailId, endpoint: tracesUrl(endpoint), delivered: {} };
}

/**
 * Exports ended sessions as OTLP spans, those the endpoint does not have yet, in batches; after
 * each accepted batch the cursor (outside the trail) records its sessions, so a failure loses
 * nothing and a later run sends the rest — each session once. The trail is only read.
 */
export async function deliverSessions(req: DeliveryRequest): Promise<DeliveryResult> {
  const reader = new TrailReader(req.store);
  const trailId = req.store.trailId;
  const file = cursorFile(req.cursorDir, trailId, req.target.endpoint);
  const cursor = readCursor(file, trailId, req.target.endpoint);
  const sel = req.select;
  const since = "since" in sel ? sel.since.toISOString() : undefined;
  let candidates =
    "sessionId" in sel ? [reader.getSession(sel.sessionId)].filter((s) => s !== undefined)
    : "changedAfter" in sel ? reader.sessionsChangedAfter(sel.changedAfter).map((c) => reader.getSession(c.session_id)).filter((s) => s !== undefined)
    : reader.listSessions().reverse();
  if (since) candidates = candidates.filter((s) => s.started_at >= since);
  const result: DeliveryResult = { sessions: 0, spans: 0, alreadyDelivered: 0, running: 0 };
  const todo = candidates.filter((s) => {
    if (s.status === "running") {
      result.running++;
      return !!req.includeRunning && (cursor.delivered[s.session_id] ?? 0) < s.last_seq;
    }
    if ((cursor.delivered[s.session_id] ?? 0) >= s.last_seq) {
      result.alreadyDelivered++;
      return false;
    }
    return true;
  });
  const batchLimit = req.batchSpans ?? 500;
  let batch: GenAiSpan[] = [];
  let batchSessions: { id: string; last: number }[] = [];
  const flush = async () => {
    if (!batch.length) return;
    await exportSpans(toReadableSpans(batch, req.service), req.target);
    for (const s of batchSessions) cursor.delivered[s.id] = s.last;
    fs.mkdirSync(req.cursorDir, { recursive: true });
    writeFileAtomic(file, Buffer.from(JSON.stringify(cursor, null, 1)));
    result.sessions += batchSessions.length;
    result.spans += batch.length;
    batch = [];
    batchSessions = [];
  };
  try {
    for (const [i, s] of todo.entries()) {
      const db = reader.sessionDatabase(s.session_id);
      const events = sessionEvents(db, s.session_id);
      const sent = cursor.delivered[s.session_id] ?? 0;
      // What was read now: the store may have moved on since the list was taken.
      const last = events[events.length - 1]?.seq ?? s.last_seq;
      const spans = (req.includeRunning ? sessionSpansSoFar : sessionToSpans)(events, {
        trailId,
        content: req.content,
        inputMessages: req.content ? (llm: TrailEventRow) => inputMessagesOf(db, llm) : undefined,
      }).filter((sp) => (sp.doneSeq ?? Infinity) > sent);
      if (spans.length) {
        batch.push(...spans);
        batchSessions.push({ id: s.session_id, last });
        if (batch.length >= batchLimit) await flush();
      }
      req.onProgress?.(i + 1, todo.length);
    }
    await flush();
  } finally {
    reader.release();
  }
  return result;
}

function inputMessagesOf(db: Database, llm: TrailEventRow): unknown[] | undefined {
  try {
    const request = (JSON.parse(llm.content) as { request?: Record<string, unknown> }).request ?? {};
    return requestMessages(db, request).map((m) => m.message);
  } catch (err) {
    if (err instanceof ConversationError) return undefined; // a pruned or damaged conversation: sent without it
    throw err;
  }
}
