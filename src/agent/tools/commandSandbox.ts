// The fence around the model's shell commands. A command runs as the user, so without a fence
// it can delete the trail that records it, read the signing key that vouches for the trail and
// re-sign a rewritten history, or switch off the hooks that record other agents. Checking the
// command line for such paths cannot work (`cd ..; rm -r x/.agent-audit`, a base64'd path, a
// script it wrote a step before); the kernel can. On Linux each command runs in its own user
// and mount namespaces where:
//   - the trust store (signing key, anchors, pins) is hidden under an empty, unreadable tmpfs;
//   - the workspace's trail folder, its agent configuration folders (.claude/, .github/hooks/,
//     .gemini/, .cursor/) and the user-level hook files that exist are bind-mounted read-only;
//   - then a second, nested user namespace takes over: the kernel locks the mounts it inherits
//     (they cannot be unmounted or remounted writable from inside), and a new PID namespace
//     keeps the command from reaching other processes' files through /proc.
// Everything else (the workspace, the network, the user's tools) is as it was. Where the
// kernel does not allow unprivileged namespaces (some distributions, macOS, Windows) there is
// no fence: `sandboxStatus()` says why, and the runner records it with the command.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** What a fenced command may not touch. */
export interface SandboxPlan {
  /** Replaced by an empty, unreadable folder (or /dev/null for a file). */
  hide: string[];
  /** Bind-mounted read-only. */
  readOnly: string[];
}

// Runs in the first namespaces (as their root): mounts, then the nested namespaces that lock them.
const SETUP = `set -e
cmd=$1; shift
hidden=$1; shift
i=0
while [ "$i" -lt "$hidden" ]; do
  p=$1; shift; i=$((i+1))
  if [ -d "$p" ]; then mount -t tmpfs -o size=4k,mode=000 agent-audit-hidden "$p"; else mount --bind /dev/null "$p"; fi
done
for p in "$@"; do mount --bind "$p" "$p"; mount -o remount,bind,ro "$p"; done
exec unshare --user --map-root-user --mount --pid --fork --mount-proc -- /bin/sh -c "$cmd"`;

let probed: { available: boolean; reason?: string } | undefined;

/** Whether commands can be fenced here; probed once per process. */
export function sandboxStatus(): { available: boolean; reason?: string } {
  if (probed) return probed;
  if (process.platform !== "linux") return (probed = { available: false, reason: `no command fence on ${process.platform}` });
  if (process.env.AGENT_AUDIT_NO_SANDBOX === "1") return (probed = { available: false, reason: "switched off (AGENT_AUDIT_NO_SANDBOX=1)" });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aat-fence-"));
  try {
    const r = spawnSync("unshare", ["--user", "--map-root-user", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", SETUP, "probe", "exit 0", "0", dir], { encoding: "utf8", timeout: 10_000 });
    if (r.error) probed = { available: false, reason: `unshare could not run (${r.error.message}); install util-linux` };
    else if (r.status !== 0) probed = { available: false, reason: `this kernel refuses unprivileged user namespaces: ${(r.stderr || "").trim().split("\n")[0] || `exit ${r.status}`}` };
    else probed = { available: true };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

/**
 * The protected paths of a workspace whose agent runs commands: the trust store hidden; the
 * trail folder and the hook configurations of the agents we record read-only (only those that
 * exist: a mount needs its target). Real paths, so that a link cannot point the fence elsewhere.
 */
export function sandboxPlan(root: string, trustDir: string, home = os.homedir()): SandboxPlan {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return undefined;
    }
  };
  // The workspace's agent configuration folders whole, not their settings files: a mount needs
  // its target to exist, and a command must not create the settings file it lacks (a
  // `.claude/settings.local.json` with `"disableAllHooks": true` switches the recording off).
  const hooks = [
    path.join(root, ".claude"),
    path.join(root, ".github", "hooks"),
    path.join(root, ".gemini"),
    path.join(root, ".cursor"),
    path.join(home, ".claude", "settings.json"),
    path.join(home, ".codex", "hooks.json"),
    path.join(home, ".gemini", "settings.json"),
    path.join(home, ".copilot", "hooks"),
  ];
  const hide = [real(trustDir)].filter((p): p is string => !!p);
  const readOnly = [...new Set([path.join(root, ".agent-audit"), ...hooks].map(real).filter((p): p is string => !!p && !hide.some((h) => p === h || p.startsWith(h + path.sep))))];
  return { hide, readOnly };
}

/** The program and arguments that run `command` with /bin/sh inside the fence. */
export function fencedCommand(command: string, plan: SandboxPlan): { file: string; args: string[] } {
  return {
    file: "unshare",
    args: ["--user", "--map-root-user", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", SETUP, "agent-audit-fence", command, String(plan.hide.length), ...plan.hide, ...plan.readOnly],
  };
}
