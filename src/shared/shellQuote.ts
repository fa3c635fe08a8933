/**
 * A path or argument as it can be pasted into a POSIX shell: as it is when it holds only
 * characters no shell treats specially, else in single quotes (a single quote inside closes the
 * quoting, is escaped with a backslash, and reopens it).
 * Printed hints ("check it with: …") must work when pasted, also for a folder with spaces.
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_\/.,:=+@%^-]+$/.test(arg)) return arg;
  return ["'", arg.split("'").join(`'\\''`), "'"].join("");
}
