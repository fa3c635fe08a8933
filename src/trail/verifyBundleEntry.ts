// Entry point of verify-bundle.js, the standalone verifier copied into every evidence bundle:
// `node verify-bundle.js [bundle folder]` (default: the folder the script is in).
import { main } from "./evidenceVerifier";

process.exitCode = main([process.argv[2] ?? __dirname]);
