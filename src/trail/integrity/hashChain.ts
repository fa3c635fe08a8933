import { createHash } from "node:crypto";
import type { EventRecord } from "../store/eventTypes";

/** prev_hash of the first event: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * The canonical bytes of an event: canonical JSON of its hashed fields (sorted keys).
 * `content` is already canonical JSON, so it is spliced in verbatim; the result is exactly
 * canonicalJson({...fields, content: JSON.parse(content)}), without re-encoding the content.
 */
export function canonicalEventText(e: EventRecord): string {
  const s = JSON.stringify;
  return (
    `{"agent_id":${s(e.agent_id)},"agent_version":${s(e.agent_version)},"content":${e.content}` +
    `,"event_id":${s(e.event_id)},"event_type":${s(e.event_type)},"model_id":${s(e.model_id)}` +
    `,"parent_event_id":${s(e.parent_event_id)},"seq":${s(e.seq)},"session_id":${s(e.session_id)}` +
    `,"step_number":${s(e.step_number)},"system_prompt_hash":${s(e.system_prompt_hash)}` +
    `,"timestamp":${s(e.timestamp)},"user_id":${s(e.user_id)}}`
  );
}

/** hash = SHA-256(prev_hash as 64 lowercase hex characters ‖ canonical event text), UTF-8. */
export function computeEventHash(prevHash: string, e: EventRecord): string {
  return hashOfCanonical(prevHash, canonicalEventText(e));
}

/** The same, for a canonical text already built (verification reuses it for the Merkle leaf). */
export function hashOfCanonical(prevHash: string, canonicalText: string): string {
  return createHash("sha256").update(prevHash).update(canonicalText).digest("hex");
}

/** Content address of a blob: SHA-256 of its UTF-8 body, lowercase hex. */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}
