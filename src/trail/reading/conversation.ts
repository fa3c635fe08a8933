import type { Database } from "sql.js";
import { canonicalJson } from "../integrity/canonicalJson";
import { sha256Hex } from "../integrity/hashChain";

/**
 * How an llm_call names the conversation it sent, in a record of constant size.
 *
 * Each message is a `message` blob (its hash is the SHA-256 of its canonical JSON). The
 * conversation after n messages is a `conversation` blob whose body is
 * `{"message":<hash of message n>,"prev":<conversation hash after n-1 messages, or null>}`
 * (canonical JSON), and whose hash, like every blob's, is the SHA-256 of that body. So one
 * hash names the whole conversation, each link is stored once, and a request is rebuilt by
 * following `prev` back to null. An llm_call stores `conversation_hash` and `message_count`.
 *
 * Trails written before this listed every message hash in `message_hashes` (a record that
 * grew with the conversation, so a session's trail grew with its square); they still rebuild.
 */
export interface ConversationLink {
  hash: string;
  body: string;
}

/** The conversation `prev` extended by one message. */
export function conversationLink(prev: string | null, messageHash: string): ConversationLink {
  const body = canonicalJson({ message: messageHash, prev });
  return { hash: sha256Hex(body), body };
}

export interface RebuiltMessage {
  hash: string;
  /** The message as sent (parsed from its blob). */
  message: unknown;
}

/** Thrown when a request cannot be rebuilt: a blob is missing or not what it should be. */
export class ConversationError extends Error {}

/**
 * The messages an llm_call sent, in order, from its `content.request` (either format).
 * Throws ConversationError naming the missing or malformed blob.
 */
export function requestMessages(db: Database, request: { conversation_hash?: unknown; message_count?: unknown; message_hashes?: unknown }): RebuiltMessage[] {
  const body = db.prepare("SELECT body FROM blobs WHERE hash = ?");
  const blob = (hash: string, what: string): string => {
    body.bind([hash]);
    const found = body.step() ? String(body.get()[0]) : undefined;
    body.reset();
    if (found === undefined) throw new ConversationError(`the ${what} blob ${hash} is missing from the trail`);
    return found;
  };
  try {
    let hashes: string[];
    if (Array.isArray(request.message_hashes)) {
      hashes = request.message_hashes.map(String);
    } else if (typeof request.conversation_hash === "string") {
      hashes = [];
      let at: string | null = request.conversation_hash;
      const limit = typeof request.message_count === "number" ? request.message_count : Infinity;
      const seen = new Set<string>();
      while (at !== null) {
        // A forged blobs table (bodies not matching their hashes) could loop; never follow one twice.
        if (seen.has(at)) throw new ConversationError(`the conversation blob ${at} links back to itself`);
        seen.add(at);
        if (hashes.length > limit) throw new ConversationError(`conversation ${request.conversation_hash} is longer than its message_count (${limit})`);
        let link: { message?: unknown; prev?: unknown };
        try {
          link = JSON.parse(blob(at, "conversation"));
        } catch (err) {
          if (err instanceof ConversationError) throw err;
          throw new ConversationError(`the conversation blob ${at} is not JSON`);
        }
        if (typeof link.message !== "string" || (link.prev !== null && typeof link.prev !== "string")) {
          throw new ConversationError(`the conversation blob ${at} is not a {message, prev} link`);
        }
        hashes.push(link.message);
        at = link.prev as string | null;
      }
      hashes.reverse();
      if (Number.isFinite(limit) && hashes.length !== limit) {
        throw new ConversationError(`conversation ${request.conversation_hash} has ${hashes.length} messages, its llm_call says ${limit}`);
      }
    } else {
      return [];
    }
    return hashes.map((hash) => ({ hash, message: JSON.parse(blob(hash, "message")) }));
  } finally {
    body.free();
  }
}
