/**
 * Calls `fn` at most once per `intervalMs`, and always once more after the last request,
 * so the final state is never missed (tree refreshes while an agent streams events).
 */
export function throttle(fn: () => void, intervalMs: number): { (): void; dispose(): void } {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const throttled = () => {
    if (timer) return;
    const wait = last + intervalMs - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  throttled.dispose = () => clearTimeout(timer);
  return throttled;
}
