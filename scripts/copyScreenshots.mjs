// `npm run screenshots`: copies the screenshots the end-to-end suite took (test-results/screenshots,
// git-ignored) into docs/images for the README. Tests never write tracked files themselves; this
// is the one explicit step that does, run when someone wants the README's pictures refreshed.
import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const from = path.join(repo, "test-results", "screenshots");
const to = path.join(repo, "docs", "images");
const shots = fs.existsSync(from) ? fs.readdirSync(from).filter((f) => f.endsWith(".png")) : [];
if (!shots.length) {
  console.error(`No screenshots in ${path.relative(repo, from)}: run the end-to-end suite first (npm test, or npm run test:e2e after npm test's set-up).`);
  process.exit(1);
}
fs.mkdirSync(to, { recursive: true });
for (const f of shots) fs.copyFileSync(path.join(from, f), path.join(to, f));
console.log(`Copied ${shots.length} screenshot${shots.length === 1 ? "" : "s"} to ${path.relative(repo, to)}: ${shots.join(", ")}`);
