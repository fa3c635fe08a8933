import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A fresh folder under the OS temp dir, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = "aat-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
