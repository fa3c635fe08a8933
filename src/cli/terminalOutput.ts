import { revealHidden } from "../shared/hiddenText";

const rawWrites = new Map<NodeJS.WriteStream, NodeJS.WriteStream["write"]>();

/**
 * The one path every byte the CLI prints goes through: stdout and stderr write text with its
 * hidden characters escaped (src/shared/hiddenText.ts). Trail content (a file the agent read,
 * a received task, a model's answer) is hostile: an OSC 52 sequence in it would set the
 * user's clipboard, cursor movement would erase rows of a table, `\r` would hide what an
 * approval prompt is about. Guarding the streams, not each command, covers every command and
 * every field, including ones added later. JSON output stays valid: JSON.stringify already
 * escapes C0 controls, and what is escaped here is written as a JSON `\uHHHH` escape.
 */
export function guardTerminalOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (rawWrites.has(stream)) continue;
    const raw = stream.write.bind(stream) as NodeJS.WriteStream["write"];
    rawWrites.set(stream, raw);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : String(chunk);
      // An encoding argument applies to the string we were given; we always pass UTF-8 text on.
      const args = typeof rest[0] === "string" ? rest.slice(1) : rest;
      return (raw as (c: string, ...a: unknown[]) => boolean)(revealHidden(text).text, ...args);
    }) as NodeJS.WriteStream["write"];
  }
}

/** Writes our own control sequence (a progress line's `\r`) past the guard; never trail text. */
export function writeControl(stream: NodeJS.WriteStream, control: string): void {
  const raw = rawWrites.get(stream) ?? stream.write.bind(stream);
  raw(control);
}
