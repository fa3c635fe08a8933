import { lintSource } from "@secretlint/core";
import "./secretlintProfilerOff";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";
import { genericSecretRanges } from "./genericSecrets";

const CONFIG = {
  rules: [
    {
      id: "@secretlint/secretlint-rule-preset-recommend",
      rule: recommendedRules,
      // AWS access key ids are off by default in secretlint; an audit trail hides them too.
      rules: [{ id: "@secretlint/secretlint-rule-aws", options: { enableIDScanRule: true } }],
    },
  ],
};
const SEPARATOR = "\n\n";
const GENERIC_MARKER = "[REDACTED:generic-secret]";

/**
 * Replaces secrets (API keys, tokens, private keys, passwords in connection strings) in
 * any string inside a value with a marker naming the rule that found them, e.g.
 * `[REDACTED:anthropic-api-key]`. Detection is secretlint's recommended rule set, the
 * maintained one the ecosystem uses, rather than a list of our own.
 */
export class SecretRedactor {
  /** Secrets found so far, by rule (for a summary; never the secrets themselves). */
  readonly counts = new Map<string, number>();

  /** Returns a deep copy of `value` with every secret replaced; `value` is not changed. */
  async redact<T>(value: T): Promise<T> {
    const strings: string[] = [];
    collectStrings(value, strings);
    if (strings.every((s) => s.length < 8)) return value;
    const own = strings.length;
    // Base64 that decodes to text is checked as that text too (a token in a Kubernetes
    // secret, an OTLP bytesValue, a CI variable): found there, the whole base64 run goes.
    const encoded = base64Candidates(strings);
    for (const c of encoded) strings.push(c.text);
    const offsets: number[] = [];
    let pos = 0;
    for (const s of strings) {
      offsets.push(pos);
      pos += s.length + SEPARATOR.length;
    }
    const result = await lintSource({
      source: { filePath: "/agent-audit/event.txt", content: strings.join(SEPARATOR), contentType: "text" },
      options: { config: CONFIG },
    });
    // Per string, the ranges to replace (secretlint gives offsets in the joined text).
    const edits = new Map<number, { start: number; end: number; marker: string }[]>();
    const add = (i: number, e: { start: number; end: number; marker: string }) => {
      const list = edits.get(i) ?? [];
      list.push(e);
      edits.set(i, list);
    };
    strings.forEach((str, i) => {
      for (const e of genericSecretRanges(str)) add(i, e);
    });
    if (result.messages.length === 0 && edits.size === 0) return value;
    for (const m of result.messages) {
      const [start, end] = m.range;
      const i = findIndex(offsets, start);
      const local = start - offsets[i];
      const localEnd = Math.min(end - offsets[i], strings[i].length);
      add(i, { start: local, end: localEnd, marker: `[REDACTED:${ruleName(m.ruleId, m.messageId)}]` });
    }
    for (const [i, list] of [...edits]) {
      if (i < own) continue;
      // A finding in decoded base64: the base64 run in the string it came from goes as a whole.
      const c = encoded[i - own];
      const rule = mergeRanges(list).find((e) => e.marker !== GENERIC_MARKER) ?? list[0];
      add(c.string, { start: c.start, end: c.end, marker: `[REDACTED:base64-${rule.marker.slice("[REDACTED:".length, -1)}]` });
      edits.delete(i);
    }
    for (const list of edits.values()) for (const e of list) this.counts.set(e.marker, (this.counts.get(e.marker) ?? 0) + 1);
    strings.length = own;
    const replaced = strings.map((s, i) => {
      let out = s;
      // Overlapping findings (two rules on one secret) are merged, so no part of either survives.
      for (const e of mergeRanges(edits.get(i) ?? []).reverse()) out = out.slice(0, e.start) + e.marker + out.slice(e.end);
      return out;
    });
    let k = 0;
    return rebuild(value, () => replaced[k++]) as T;
  }
}

/** Base64 runs long enough to hold a secret, and what they decode to when that is text. */
function base64Candidates(strings: string[]): { string: number; start: number; end: number; text: string }[] {
  const out: { string: number; start: number; end: number; text: string }[] = [];
  let budget = MAX_DECODED_BYTES;
  strings.forEach((s, i) => {
    if (s.length < 16) return;
    BASE64.lastIndex = 0;
    for (let m = BASE64.exec(s); m && budget > 0; m = BASE64.exec(s)) {
      const text = decodedText(m[0]);
      if (!text) continue;
      budget -= text.length;
      out.push({ string: i, start: m.index, end: m.index + m[0].length, text });
    }
  });
  return out;
}

// Standard and URL-safe alphabets (Node decodes both); 16+ characters is 12+ bytes decoded.
const BASE64 = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])/g;
const MAX_DECODED_BYTES = 4 * 1024 * 1024;

/** The text a base64 run decodes to, or undefined when it is not text (a hash, binary, a word). */
function decodedText(b64: string): string | undefined {
  if (/^[0-9a-f]+$/i.test(b64) || /^[A-Za-z]+$/.test(b64)) return undefined; // hex digests, words
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length < 12) return undefined;
  const text = bytes.toString("utf8");
  if (text.includes("\ufffd")) return undefined;
  let printable = 0;
  for (const ch of text) if (ch >= " " || ch === "\n" || ch === "\t" || ch === "\r") printable++;
  return printable >= text.length * 0.95 ? text : undefined;
}

/** Every string in `v`, object keys included (a secret can be a key: `{"sk-ant-…": …}`). */
function collectStrings(v: unknown, out: string[]): void {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (v && typeof v === "object") {
    for (const [key, x] of Object.entries(v)) {
      out.push(key);
      collectStrings(x, out);
    }
  }
}

/** Rebuilds `v` with its strings (keys included), in the same walk order, taken from `next`. */
function rebuild(v: unknown, next: () => string): unknown {
  if (typeof v === "string") return next();
  if (Array.isArray(v)) return v.map((x) => rebuild(x, next));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const x of Object.values(v)) {
      const k = next();
      out[k] = rebuild(x, next);
    }
    return out;
  }
  return v;
}

/**
 * Sorted, non-overlapping ranges: overlapping ones become their union, named by the most
 * specific rule (a vendor's rule over our generic one).
 */
function mergeRanges(list: { start: number; end: number; marker: string }[]): { start: number; end: number; marker: string }[] {
  const sorted = [...list].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: { start: number; end: number; marker: string }[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && e.start < last.end) {
      last.end = Math.max(last.end, e.end);
      if (last.marker === GENERIC_MARKER && e.marker !== GENERIC_MARKER) last.marker = e.marker;
    }
    else out.push({ ...e });
  }
  return out;
}

function findIndex(offsets: number[], at: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** `ANTHROPIC_API_KEY` → `anthropic-api-key`; otherwise the rule's short name. */
function ruleName(ruleId: string, messageId?: string): string {
  if (messageId && /^[A-Z0-9_]+$/.test(messageId)) return messageId.toLowerCase().replace(/_/g, "-");
  return ruleId.replace(/^@secretlint\/secretlint-rule-/, "");
}
