import { secretLintProfiler } from "@secretlint/profiler";

/**
 * @secretlint/core marks every rule run on a process-wide profiler that keeps every mark
 * (in its own list and in Node's performance timeline) and scans that list on each one, so
 * redaction gets slower and memory grows for as long as the process lives: a long-lived
 * extension host is exactly where that hurts (upstream secretlint issues #1633 and #1653,
 * fixed by an opt-in profiler in 12.x, which needs Node 22; we support Node 20). We never read
 * the profile, so its `mark` does nothing. The package is pinned to the version
 * @secretlint/core depends on, so this is the one instance core uses (a test checks it).
 */
secretLintProfiler.mark = () => undefined;

export { secretLintProfiler };
