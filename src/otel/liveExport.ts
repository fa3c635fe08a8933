import type { DeliveryRequest, DeliveryResult } from "./otlpDelivery";
import { deliverSessions } from "./otlpDelivery";

/**
 * When a live export runs: after something is appended to the trail, what sessions have
 * completed so far is sent within `intervalMs` (default 2 s) — the way an OpenTelemetry SDK's
 * batch span processor sends ended spans — and at once when asked (a run ended). Appending
 * only sets a timer: the export never runs in the path of an agent's step, and a slow or dead
 * endpoint cannot slow or fail a run. One export at a time; a change during one is picked up by
 * the next. What went is in the delivery cursor (otlpDelivery.ts), so a failure loses nothing:
 * the next export sends it.
 */
export class LiveExportSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;

  constructor(
    private readonly deliver: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
    private readonly intervalMs = 2_000,
  ) {}

  /** The trail changed: export within the interval (a timer already set stays as it is). */
  changed(): void {
    if (this.timer || this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exportNow();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /**
   * Exports now, or — when one is under way — once more right after it; resolves when the export
   * under way (or the one started now) is done.
   */
  exportNow(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    const run = (async () => {
      try {
        await this.deliver();
      } catch (err) {
        this.onError(err);
      }
    })();
    this.running = run.finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.exportNow();
      }
    });
    return this.running;
  }

  /** Waits for an export under way and stops the timer. */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

/**
 * A live export's deliveries for one trail: running sessions included, and after the first
 * (which looks at every session) only the sessions with events after the head the last
 * successful one saw — so an export every couple of seconds during a run does not re-read the
 * list of every session of a trail months old. A failed delivery does not move that head.
 */
export class LiveDelivery {
  private seen: { trailId: string; head: number } | undefined;

  async deliver(req: Omit<DeliveryRequest, "select" | "includeRunning">): Promise<DeliveryResult> {
    const trailId = req.store.trailId;
    const head = req.store.head.seq;
    const seen = this.seen?.trailId === trailId && this.seen.head <= head ? this.seen.head : 0;
    const result = await deliverSessions({ ...req, includeRunning: true, select: seen ? { changedAfter: seen } : { all: true } });
    this.seen = { trailId, head };
    return result;
  }
}
