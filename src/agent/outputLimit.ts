import { createHash } from "node:crypto";

/** What the trail records about a tool's output besides the (possibly truncated) text. */
export interface LimitedOutput {
  text: string;
  truncated: boolean;
  /** Size in bytes of the full output, before truncation. */
  original_bytes: number;
  /** SHA-256 of the full output, so it can be matched against a copy kept elsewhere. */
  original_sha256: string;
}

/** Truncates `full` to at most `limitBytes` of UTF-8 (on a character boundary) for the model. */
export function limitOutput(full: string, limitBytes: number): LimitedOutput {
  const bytes = Buffer.from(full, "utf8");
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (bytes.length <= limitBytes) return { text: full, truncated: false, original_bytes: bytes.length, original_sha256: sha };
  let end = limitBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // do not cut a character in half
  const kept = bytes.subarray(0, end).toString("utf8");
  return {
    text: `${kept}\n[output truncated: showing ${end} of ${bytes.length} bytes]`,
    truncated: true,
    original_bytes: bytes.length,
    original_sha256: sha,
  };
}
