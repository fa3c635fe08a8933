import { createHash } from "node:crypto";
import { nestingDepth } from "../trail/integrity/canonicalJson";
import type { ModelResponse, ResponseBlock } from "./modelClient";

/**
 * How deep a tool input may nest. No tool of ours takes more than a few levels; far deeper
 * input is hostile or broken, and would break what walks it (the redactor, canonical JSON,
 * SQLite's JSON functions refuse more than 1000 levels in the trail's checks), leaving a
 * session without its record. Deeper input is refused like malformed JSON: recorded as text.
 */
export const MAX_TOOL_INPUT_DEPTH = 64;

/** How much of a refused input's text the trail keeps; beyond it, its size and SHA-256. */
export const MAX_RAW_INPUT_BYTES = 64 * 1024;


type ToolUse = Extract<ResponseBlock, { type: "tool_use" }>;

/**
 * The model's answer with every tool input deeper than MAX_TOOL_INPUT_DEPTH turned into an
 * input error: the tool does not run, the model is told why, and the trail keeps the input as
 * text (the first MAX_RAW_INPUT_BYTES of it, with the whole text's size and SHA-256). The text
 * is redacted whole before it is cut, so its digest gives no secret away.
 */
export async function boundToolInputs(r: ModelResponse, redact: (text: string) => Promise<string>): Promise<ModelResponse> {
  const content: ResponseBlock[] = [];
  for (const b of r.content) content.push(b.type === "tool_use" ? await boundOne(b, redact) : b);
  return { ...r, content };
}

async function boundOne(b: ToolUse, redact: (text: string) => Promise<string>): Promise<ToolUse> {
  if (b.input_error) return Buffer.byteLength(b.raw_input ?? "") > MAX_RAW_INPUT_BYTES ? { ...b, ...cutRawInput(await redact(b.raw_input)) } : b;
  if (nestingDepth(b.input, MAX_TOOL_INPUT_DEPTH) <= MAX_TOOL_INPUT_DEPTH) return b;
  const raw = b.raw_input || safeStringify(b.input);
  return {
    ...b,
    input: undefined,
    ...cutRawInput(await redact(raw)),
    input_error: `the model sent a tool input for ${b.name} nested more than ${MAX_TOOL_INPUT_DEPTH} levels deep; it was not run`,
  };
}

/** `raw` as the trail keeps it: whole when small, else its start plus the whole text's size and SHA-256. */
export function cutRawInput(raw: string): { raw_input: string; raw_input_bytes?: number; raw_input_sha256?: string } {
  const bytes = Buffer.from(raw, "utf8");
  if (bytes.length <= MAX_RAW_INPUT_BYTES) return { raw_input: raw };
  let end = MAX_RAW_INPUT_BYTES;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return {
    raw_input: `${bytes.subarray(0, end).toString("utf8")}\n[raw input cut: showing ${end} of ${bytes.length} bytes]`,
    raw_input_bytes: bytes.length,
    raw_input_sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "";
  } catch (err) {
    return `(the input could not be written as text: ${(err as Error).message})`;
  }
}
