import * as fs from "node:fs";
import type { ParsedArgs } from "./cliArgs";
import { UsageError, stringFlag } from "./cliArgs";
import { trailPathFor, trustStore, workspaceFrom } from "./trailLocation";

export const TRUST_FLAGS = { values: ["workspace"], booleans: ["json"] };

/**
 * `agent-audit trust add FILE | list | forget [--workspace DIR] | rotate-key`: the user's
 * trust store, shared with the extension (see src/trail/trustStore.ts).
 */
export async function trustCommand(args: ParsedArgs): Promise<number> {
  const [sub, arg, ...extra] = args.positionals;
  const trust = trustStore();
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"; see: agent-audit --help`);
  switch (sub) {
    case "add": {
      if (!arg) throw new UsageError("trust add needs a file: an anchor (agent-audit checkpoint --print > anchor.json) or a PEM public key");
      if (!fs.existsSync(arg)) throw new UsageError(`${arg} does not exist`);
      let keys;
      try {
        keys = trust.addTrustedFrom(arg);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      for (const k of keys) process.stdout.write(`Trusted key ${k.fingerprint}\n`);
      return 0;
    }
    case "list": {
      const own = trust.existingSigner()?.key.fingerprint;
      const keys = trust.trustedKeys();
      if (args.flags.has("json")) {
        process.stdout.write(JSON.stringify({ dir: trust.dir, signing_key: own ?? null, trusted: keys.map((k) => k.fingerprint) }, null, 2) + "\n");
        return 0;
      }
      process.stdout.write(`Trust store: ${trust.dir}\n`);
      process.stdout.write(own ? `Your signing key: ${own}\n` : "No signing key yet (one is made when you first run an agent or sign a checkpoint).\n");
      for (const k of keys) if (k.fingerprint !== own) process.stdout.write(`Trusted: ${k.fingerprint}\n`);
      return 0;
    }
    case "forget": {
      if (arg) throw new UsageError(`unexpected argument "${arg}"; trust forget takes --workspace DIR`);
      const file = trailPathFor(workspaceFrom(stringFlag(args, "workspace")));
      const had = trust.pins.forget(file);
      process.stdout.write(had ? `Forgot the pin of ${file}: the next verify or run pins what is there now.\n` : `No pin for ${file}.\n`);
      return 0;
    }
    case "rotate-key": {
      const r = trust.rotateKey();
      process.stdout.write(`New signing key ${r.current}${r.retired ? `; the old one (${r.retired}) stays trusted, so its checkpoints keep verifying` : ""}\n`);
      return 0;
    }
    default:
      throw new UsageError(`trust needs one of: add FILE, list, forget [--workspace DIR], rotate-key${sub ? ` (not "${sub}")` : ""}`);
  }
}
