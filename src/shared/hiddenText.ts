/**
 * Characters a terminal, a dialog or an editor does not show as themselves: C0 controls
 * (except line feed and tab), DEL, C1 controls (CSI U+009B, OSC U+009D…), bidi overrides and
 * isolates (U+202A–202E, U+2066–2069), line/paragraph separators, and zero-width and other invisible format characters.
 * Text from a model, a tool output or a received record can use them to hide what it holds:
 * `touch PWNED #\r\x1b[2K    $ npm test` reads as `$ npm test` on a terminal. ESC starts every
 * ANSI/OSC sequence, so escaping it leaves the sequence inert and visible.
 */
const HIDDEN =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|[\udb40][\udc00-\udc7f]/g;

/** Notice shown beside text in which `revealHidden` escaped something. */
export const HIDDEN_NOTICE = "⚠ This input contains hidden control characters, shown escaped (\\x1b, \\u202e…): what runs is exactly the text shown, escapes included as the characters they stand for.";

/**
 * `text` with every hidden character written as an escape: C0 controls as `\xHH`, everything
 * else (DEL included) as `\uHHHH`, so a JSON text (where C0 controls are already escaped)
 * stays valid JSON with the same value; line feeds and tabs as they are. `hidden` says whether anything was escaped, for a prompt to flag it.
 */
export function revealHidden(text: string): { text: string; hidden: boolean } {
  let hidden = false;
  const out = text.replace(HIDDEN, (ch) => {
    hidden = true;
    if (ch.length === 2) return `\\u${ch.charCodeAt(0).toString(16)}\\u${ch.charCodeAt(1).toString(16)}`;
    const code = ch.charCodeAt(0);
    return code < 0x20 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  return { text: out, hidden };
}

/** True when `text` holds a character that `revealHidden` would escape. */
export function hasHidden(text: string): boolean {
  HIDDEN.lastIndex = 0;
  const found = HIDDEN.test(text);
  HIDDEN.lastIndex = 0;
  return found;
}

/** True when any string in `value` (object keys included) holds a hidden character. */
export function anyHidden(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (hasHidden(v)) return true;
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) stack.push(k, x);
  }
  return false;
}

/**
 * What an approval prompt shows for a tool call: its summary with hidden characters escaped,
 * and the notice to put above it when the summary or any part of the input held one (a
 * hidden character in a field the summary leaves out is flagged too).
 */
export function approvalDisplay(summary: string, input: unknown): { text: string; notice: string | undefined } {
  const shown = revealHidden(summary);
  return { text: shown.text, notice: shown.hidden || anyHidden(input) ? HIDDEN_NOTICE : undefined };
}
