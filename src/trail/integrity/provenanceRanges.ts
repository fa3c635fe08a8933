/** One range of a trail and who vouches for it, as verify reports it. */
export interface ProvenanceRange {
  from: number;
  to: number;
  /** A key this user trusts (their own, trusted-keys/, the anchor's) vouches for every event in it. */
  vouched: boolean;
  /** In words: "yours (key 1a2b…)", "a key you trust (key …)", "signed by an unknown key (key …)", "unsigned". */
  who: string;
  /** The fingerprint of the key that vouches (or, unvouched, that signed it), if any. */
  key?: string;
  /** The events after the last checkpoint: not yet signed by anyone (a warning, as before). */
  tail?: boolean;
}

/** A checkpoint that verified (signature, trail id, the chain up to its seq). */
export interface GoodCheckpoint {
  seq: number;
  key: string;
  /** From its tree head's extension line, when the note verifies and has one. */
  vouchesFrom?: number;
}

interface Interval {
  from: number;
  to: number;
  rank: number;
  who: string;
  key?: string;
}

/**
 * Splits seq 1..head into ranges by who vouches: a checkpoint by key K at seq c vouches for
 * [start, c], where start is the seq its writer vouched from (its tree head's line), else the
 * latest valid writer_start of K at or before c, else 1 (a trail an older version made from
 * empty). The user's own key ranks first, then other trusted keys, then keys nobody trusts
 * (which sign but do not vouch); what no checkpoint covers is unsigned.
 */
export function provenanceRanges(opts: {
  head: number;
  lastSignedSeq: number;
  checkpoints: GoodCheckpoint[];
  /** Valid writer_start events: seq and key. */
  writerStarts: { seq: number; key: string }[];
  trusted: Set<string>;
  own?: string;
  /** Seqs before the walk's start (`--since`), vouched for by the signed seal before it. */
  before?: { to: number; vouched: boolean; who: string; key?: string };
}): ProvenanceRange[] {
  const short = (fp: string) => `key ${fp.slice(0, 16)}…`;
  const starts = new Map<string, number[]>();
  for (const w of opts.writerStarts) {
    if (!starts.has(w.key)) starts.set(w.key, []);
    starts.get(w.key)!.push(w.seq);
  }
  const raw: Interval[] = [];
  for (const c of opts.checkpoints) {
    const from = c.vouchesFrom ?? Math.max(1, ...(starts.get(c.key) ?? []).filter((s) => s <= c.seq));
    if (from > c.seq) continue;
    const rank = c.key === opts.own ? 0 : opts.trusted.has(c.key) ? 1 : 2;
    const who = rank === 0 ? `yours (${short(c.key)})` : rank === 1 ? `a key you trust (${short(c.key)})` : `signed by an unknown key (${short(c.key)})`;
    raw.push({ from, to: c.seq, rank, who, key: c.key });
  }
  if (opts.before && opts.before.to >= 1) raw.push({ from: 1, to: opts.before.to, rank: opts.before.vouched ? 0 : 2, who: opts.before.who, key: opts.before.key });
  const merged = mergeByLabel(raw);
  const end = Math.min(opts.lastSignedSeq, opts.head);
  const cuts = new Set<number>([1, end + 1]);
  for (const i of merged) {
    if (i.from <= end) cuts.add(i.from);
    if (i.to + 1 <= end) cuts.add(i.to + 1);
  }
  const points = [...cuts].filter((p) => p >= 1 && p <= end + 1).sort((a, b) => a - b);
  const out: ProvenanceRange[] = [];
  for (let k = 0; k + 1 < points.length; k++) {
    const from = points[k];
    const to = points[k + 1] - 1;
    let best: Interval | undefined;
    for (const i of merged) if (i.from <= from && i.to >= to && (!best || i.rank < best.rank)) best = i;
    const r: ProvenanceRange = best
      ? { from, to, vouched: best.rank < 2, who: best.rank < 2 ? best.who : `${best.who}: no key you trust vouches for it`, key: best.key }
      : { from, to, vouched: false, who: "unsigned: no key you trust vouches for it" };
    const prev = out[out.length - 1];
    if (prev && prev.who === r.who && prev.vouched === r.vouched && prev.to + 1 === from) prev.to = to;
    else out.push(r);
  }
  if (opts.head > end) out.push({ from: end + 1, to: opts.head, vouched: false, who: "not signed yet (after the last checkpoint)", tail: true });
  return out;
}

/** Unions the intervals of each label (a key's checkpoints overlap: each reaches back to its writer's start). */
function mergeByLabel(raw: Interval[]): Interval[] {
  const groups = new Map<string, Interval[]>();
  for (const i of raw) {
    if (!groups.has(i.who)) groups.set(i.who, []);
    groups.get(i.who)!.push(i);
  }
  const out: Interval[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.from - b.from);
    let cur: Interval | undefined;
    for (const i of list) {
      if (cur && i.from <= cur.to + 1) cur.to = Math.max(cur.to, i.to);
      else {
        if (cur) out.push(cur);
        cur = { ...i };
      }
    }
    if (cur) out.push(cur);
  }
  return out;
}

/** True when every signed range is vouched for by a key the user trusts (the unsigned tail aside). */
export function fullyVouched(ranges: ProvenanceRange[]): boolean {
  return ranges.every((r) => r.vouched || r.tail);
}

/** The ranges that hold any of `seqs` and that no trusted key vouches for. */
export function unvouchedAmong(ranges: ProvenanceRange[], seqs: number[]): ProvenanceRange[] {
  return ranges.filter((r) => !r.vouched && seqs.some((s) => s >= r.from && s <= r.to));
}
