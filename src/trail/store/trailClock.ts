/**
 * The time for what the store writes (events without a time of their own, checkpoints, seals,
 * keys): the clock, but never before the newest event's time. A clock stepped back (a VM
 * restored, a bad NTP answer) must not make new events look old: retention would then prune
 * what was just written. The step is logged once, with how far back the clock is.
 */
export class TrailClock {
  /** The newest event time known at seq (re-read from the trail when the head moved otherwise). */
  private latest = { seq: -1, time: "" };
  private behind = false;

  constructor(
    private readonly clock: (() => Date) | undefined,
    private readonly log: (message: string) => void,
    /** The newest time in the trail as stored (its head events', or the last seal's). */
    private readonly timeAtHead: () => string,
  ) {}

  /** An event at `seq` with `time` was added at the head. */
  saw(seq: number, time: string): void {
    if (time > this.latest.time) this.latest = { seq, time };
    else this.latest.seq = seq;
  }

  /** Now, held at the newest event's time while the clock is behind it. */
  now(headSeq: number): string {
    const wall = (this.clock?.() ?? new Date()).toISOString();
    if (this.latest.seq !== headSeq) this.latest = { seq: headSeq, time: this.timeAtHead() };
    if (wall >= this.latest.time) {
      this.behind = false;
      return wall;
    }
    if (!this.behind) {
      this.behind = true;
      this.log(`the clock (${wall}) is ${Date.parse(this.latest.time) - Date.parse(wall)} ms behind the trail's newest event (${this.latest.time}): new times are held at it until the clock catches up`);
    }
    return this.latest.time;
  }
}
