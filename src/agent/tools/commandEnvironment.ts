/**
 * The environment the agent's commands get: an allowlist, not a denylist. An editor's
 * environment holds credentials under names nobody can enumerate (cloud tokens, registry
 * tokens, database URLs); a denylist of a few famous names let the rest reach any command the
 * model chose. Only what a shell and ordinary build tools need passes, plus the names the
 * user configured (`agentAudit.commandEnvironment` / AGENT_AUDIT_COMMAND_ENV).
 */
const ALWAYS = new Set([
  "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "COLORTERM", "TMPDIR", "TZ", "LANG", "LANGUAGE",
  // Windows: what cmd.exe and most programs need to start at all.
  "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "USERPROFILE", "USERNAME",
  "APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "PROGRAMFILES", "PROGRAMFILES(X86)", "COMMONPROGRAMFILES",
  "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE", "OS",
]);

/** Environment variable names a user may add: letters, digits, underscore (and Windows' parentheses). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_()]*$/;

/** The allowed subset of `from`: the fixed list, locale (LC_*), and `extra` names. */
export function commandEnvironment(from: NodeJS.ProcessEnv, extra: readonly string[] = []): Record<string, string> {
  const wanted = new Set(extra.filter((n) => ENV_NAME.test(n)).map((n) => n.toUpperCase()));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) {
    if (v === undefined) continue;
    const up = k.toUpperCase();
    if (ALWAYS.has(up) || up.startsWith("LC_") || wanted.has(up)) out[k] = v;
  }
  return out;
}

/** AGENT_AUDIT_COMMAND_ENV="NAME1,NAME2" (the CLI's way to pass extra variables to commands). */
export function extraNamesFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(/[,\s]+/).filter((n) => ENV_NAME.test(n));
}
