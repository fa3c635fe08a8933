import { lintSource } from "@secretlint/core";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";

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
    if (result.messages.length === 0) return value;
    // Per string, the ranges to replace (secretlint gives offsets in the joined text).
    const edits = new Map<number, { start: number; end: number; marker: string }[]>();
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
    const replaced = strings.map((s, i) => {
      const list = (edits.get(i) ?? []).sort((a, b) => b.start - a.start);
      let out = s;
      let lastStart = Infinity;
      for (const e of list) {
        if (e.end > lastStart) continue; // overlapping findings: the outer one already covers it
        out = out.slice(0, e.start) + e.marker + out.slice(e.end);
        lastStart = e.start;
      }
      return out;
    });
    let k = 0;
    return rebuild(value, () => replaced[k++]) as T;
  }
}

function collectStrings(v: unknown, out: string[]): void {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) collectStrings(x, out);
}

/** Rebuilds `v` with its strings taken, in the same walk order, from `next`. */
function rebuild(v: unknown, next: () => string): unknown {
  if (typeof v === "string") return next();
  if (Array.isArray(v)) return v.map((x) => rebuild(x, next));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, x] of Object.entries(v)) out[key] = rebuild(x, next);
    return out;
  }
  return v;
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
