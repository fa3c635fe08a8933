import type { EventInput } from "../trail/store/eventTypes";
import { TrailReader } from "../trail/reading/trailReader";
import { TrailError } from "../trail/store/trailErrors";
import type { TrailStore } from "../trail/store/trailStore";
import type { ReceivedLogRecord, ReceivedSpanRecord } from "./otlpDecode";
import type { StagingPlace } from "./otlpStaging";
import { StagingFile } from "./otlpStaging";
import type { Staged } from "./receivedMapping";
import { logGroup, planGroups, spanGroup } from "./receivedMapping";

export interface IngestOptions {
  store: TrailStore;
  /** Where received records wait (fsync'd) until their group is written: the user's own staging file (stagingFor). */
  staging: StagingPlace;
  /** How long a group must be quiet before it is written (default 1,500 ms). */
  quietMs?: number;
  log?: (message: string) => void;
}

/**
 * A record received twice: its event is in the trail already (event ids derive from the
 * record's), and the store refuses it with DUPLICATE_EVENT.
 */
function isRedelivered(err: unknown): boolean {
  return err instanceof TrailError && err.code === "DUPLICATE_EVENT";
}

/**
 * Received OTLP spans and logs become trail sessions (the reverse of genaiMapping.ts; the
 * table is in docs/opentelemetry.md). Spans and logs arrive out of order and in batches, so
 * they are grouped (a trace, or a Claude Code session) and a group is written to the trail
 * once it has been quiet for a moment, in the order things happened (receivedMapping.ts).
 * Until then they wait in a staging file (fsync'd before the sender is answered; otlpStaging.ts),
 * so nothing acknowledged is lost in a crash. Every event keeps the record it came from as an
 * `otlp` blob, and its id derives from the record's, so a record received twice is written
 * once. A record that cannot be written as what it maps to is kept whole as an
 * `otel_span`/`otel_log` with the reason; a group the trail refuses waits without holding up
 * the others.
 */
export class OtlpIngest {
  private readonly staged: Staged[] = [];
  private readonly lastSeen = new Map<string, number>();
  /** Each received record's JSON, made once when it is staged (stagingLine). */
  private readonly rawJson = new WeakMap<object, string>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly staging: StagingFile;
  /** Groups the trail refused, with when to try them again (they do not hold up the others). */
  private readonly failing = new Map<string, { tries: number; next: number }>();

  constructor(private readonly opts: IngestOptions) {
    this.staging = new StagingFile(opts.staging);
  }

  /** Takes up what an earlier run of this receiver staged and did not write yet (and nothing else). */
  start(): void {
    const { lines, foreign, torn } = this.staging.readExisting();
    for (const line of lines) {
      try {
        this.staged.push(JSON.parse(line) as Staged);
      } catch {
        this.log(`skipped an unreadable line of ${this.staging.file}`);
      }
    }
    for (const st of this.staged) this.lastSeen.set(st.group, 0);
    if (foreign) this.log(`${foreign} line${foreign === 1 ? " was" : "s were"} not written by this receiver (no valid authentication) in ${this.staging.file}: not taken up, and removed`);
    if (torn) this.log(`skipped the unfinished last line of ${this.staging.file} (a write cut short; it was never acknowledged)`);
    this.staging.open();
    if (foreign || torn) this.rewriteStaging();
    this.schedule(0);
  }

  /** Stages received records durably; returns once they are fsync'd (then the sender may be told "accepted"). */
  receive(spans: ReceivedSpanRecord[], logs: ReceivedLogRecord[]): void {
    const at = Date.now();
    const items: Staged[] = [...spans.map((r) => ({ kind: "span" as const, group: spanGroup(r), at, r })), ...logs.map((r) => ({ kind: "log" as const, group: logGroup(r), at, r }))];
    if (!items.length) return;
    this.staging.append(items.map((i) => this.stagingLine(i)));
    for (const i of items) {
      this.staged.push(i);
      this.lastSeen.set(i.group, at);
    }
    this.schedule(this.opts.quietMs ?? 1500);
  }

  /**
   * A staged record as its line, the received record (`raw`, the bulk of it) serialised once:
   * the same text becomes the record's blob when it is written to the trail.
   */
  private stagingLine(i: Staged): string {
    const raw = i.r.raw;
    if (!raw || typeof raw !== "object") return JSON.stringify(i);
    const rawJson = JSON.stringify(raw);
    this.rawJson.set(raw, rawJson);
    // `{"kind":…,"group":…,"r":{…}}` with "raw" put back as the last member of r.
    const rest = JSON.stringify({ ...i, r: { ...i.r, raw: undefined } }).slice(0, -2);
    return `${rest}${rest.endsWith("{") ? "" : ","}"raw":${rawJson}}}`;
  }

  /** Writes every staged group now (shutting down). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    await this.writeGroups(true);
  }

  async stop(): Promise<void> {
    await this.flush();
    this.staging.close();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.writeGroups(false), ms);
    this.timer.unref?.();
  }

  private writeGroups(all: boolean): Promise<void> {
    this.writing = this.writing.then(async () => {
      const quiet = this.opts.quietMs ?? 1500;
      const now = Date.now();
      const due = (g: string) => (all || now - (this.lastSeen.get(g) ?? 0) >= quiet) && (all || (this.failing.get(g)?.next ?? 0) <= now);
      const ready = new Set([...new Set(this.staged.map((x) => x.group))].filter(due));
      if (ready.size) {
        let written = new Set<string>();
        try {
          written = await this.writeReady(ready);
        } catch (err) {
          this.log(`could not write received records to the trail (kept in staging, retried later): ${(err as Error).message}`);
        }
        if (written.size) {
          this.staged.splice(0, this.staged.length, ...this.staged.filter((x) => !written.has(x.group)));
          for (const g of written) {
            this.lastSeen.delete(g);
            this.failing.delete(g);
          }
          this.rewriteStaging();
        }
        for (const g of ready) {
          if (written.has(g)) continue;
          // Tried again later, less often each time; the other groups go on meanwhile.
          const tries = (this.failing.get(g)?.tries ?? 0) + 1;
          this.failing.set(g, { tries, next: now + Math.min(quiet * 2 ** tries, 5 * 60_000) });
        }
      }
      if (this.staged.length) this.schedule(quiet);
    });
    return this.writing;
  }

  /** The staging file holds exactly what is not in the trail yet. */
  private rewriteStaging(): void {
    this.staging.rewrite(this.staged.map((i) => this.stagingLine(i)));
  }

  /**
   * Writes the ready groups, all in one go: their events share the store's group commits (a
   * per-group fsync would cap the receiver at a few hundred traces a second). An event the
   * trail refuses is written instead as the record it came from (otel_span/otel_log, with the
   * reason). Returns the groups that are now wholly in the trail.
   */
  private async writeReady(ready: Set<string>): Promise<Set<string>> {
    const store = this.opts.store;
    await store.refresh();
    const reader = new TrailReader(store);
    let plan: ReturnType<typeof planGroups>;
    try {
      const rawJson = (raw: unknown) => (raw && typeof raw === "object" ? this.rawJson.get(raw) : undefined);
      plan = planGroups(reader, this.staged, ready, rawJson, (m) => this.log(m));
    } finally {
      reader.release();
    }
    const { planned, fallbacks } = plan;
    const settle = (events: EventInput[]) => Promise.allSettled(events.map((e) => store.append(e)));
    const refusedBy = (r: PromiseSettledResult<unknown>) => (r.status === "rejected" && !isRedelivered(r.reason) ? (r.reason as Error) : undefined);
    const all = planned.flatMap((p) => p.events);
    const results = await settle(all);
    const retry: { e: EventInput; group: string }[] = [];
    const failedGroups = new Set<string>();
    let i = 0;
    for (const p of planned) {
      for (const e of p.events) {
        const err = refusedBy(results[i++]);
        if (!err) continue;
        const kept = err instanceof TrailError && err.code === "INVALID_EVENT" ? fallbacks.get(e) : undefined;
        if (kept) retry.push({ e: { ...kept, content: { ...kept.content, unmapped: { ...(kept.content.unmapped as object), reason: err.message } } }, group: p.group });
        else failedGroups.add(p.group);
        this.log(`the trail refused a received ${e.event_type} (${err.message}); ${kept ? "kept as the record it came from" : "kept in staging, retried later"}`);
      }
    }
    const again = await settle(retry.map((r) => r.e));
    again.forEach((r, j) => {
      if (refusedBy(r)) failedGroups.add(retry[j].group);
    });
    const written = new Set(planned.map((p) => p.group).filter((g) => !failedGroups.has(g)));
    const count = planned.filter((p) => written.has(p.group)).reduce((n, p) => n + p.events.length, 0);
    if (written.size) this.log(`wrote ${count} events of ${written.size} received sessions`);
    return written;
  }

  private log(m: string): void {
    this.opts.log?.(`[otlp] ${m}`);
  }
}
