// Entry point of verify-bundle.js, the standalone verifier copied into every evidence bundle:
// `node verify-bundle.js [bundle folder] [--key VKEY|FILE]... [--anchor FILE]` (default folder:
// the one the script is in).
import { main } from "./evidenceVerifier";

const args = process.argv.slice(2);
process.exitCode = main(args.length && !args[0].startsWith("--") ? args : [__dirname, ...args]);
