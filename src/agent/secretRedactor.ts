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
    strings.forEach((str, i) => {
      const generic = genericSecretRanges(str);
      if (generic.length) edits.set(i, generic);
    });
    if (result.messages.length === 0 && edits.size === 0) return value;
    for (const m of result.messages) {
      const [start, end] = m.range;
      const i = findIndex(offsets, start);
      const local = start - offsets[i];
      const localEnd = Math.min(end - offsets[i], strings[i].length);
      const marker = `[REDACTED:${ruleName(m.ruleId, m.messageId)}]`;
      this.counts.set(marker, (this.counts.get(marker) ?? 0) + 1);
      const list = edits.get(i) ?? [];
      list.push({ start: local, end: localEnd, marker });
      edits.set(i, list);
    }
    for (const list of edits.values()) {
      for (const e of list) if (e.marker === GENERIC_MARKER) this.counts.set(e.marker, (this.counts.get(e.marker) ?? 0) + 1);
    }
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
