import { canonicalJson, MAX_CONTENT_DEPTH, nestingDepth } from "../integrity/canonicalJson";
import type { BlobInput, EventInput, StoredEvent } from "./eventTypes";
import { sha256Hex } from "../integrity/hashChain";
import { invalidEvent } from "./trailErrors";

/** An append checked and made canonical, waiting for the next commit. */
export interface PreparedEvent {
  input: EventInput;
  content: string;
  blobs: { hash: string; kind: BlobInput["kind"]; body: string }[];
  resolve: (e: StoredEvent) => void;
  reject: (err: unknown) => void;
}

/** Checks an append and makes its content canonical JSON; throws INVALID_EVENT (before anything is queued). */
export function prepareAppend(input: EventInput, resolve: PreparedEvent["resolve"], reject: PreparedEvent["reject"]): PreparedEvent {
  if (typeof input.session_id !== "string" || !input.session_id) throw invalidEvent("session_id is required");
  if (typeof input.event_type !== "string" || !input.event_type) throw invalidEvent("event_type is required");
  if (typeof input.content !== "object" || input.content === null || Array.isArray(input.content)) {
    throw invalidEvent("content must be an object");
  }
  if (nestingDepth(input.content, MAX_CONTENT_DEPTH) > MAX_CONTENT_DEPTH) {
    throw invalidEvent(`content is nested more than ${MAX_CONTENT_DEPTH} levels deep (SQLite's JSON functions take at most 1000); record such data as text`);
  }
  let content: string;
  try {
    content = canonicalJson(input.content);
  } catch (err) {
    throw invalidEvent((err as Error).message);
  }
  const blobs = (input.blobs ?? []).map((b) => ({ hash: sha256Hex(b.body), kind: b.kind, body: b.body }));
  return { input, content, blobs, resolve, reject };
}

/** An event the store itself appends (a writer's start): nothing waits for it. */
export function internalAppend(input: EventInput): PreparedEvent {
  return { input, content: canonicalJson(input.content), blobs: [], resolve: () => {}, reject: () => {} };
}
