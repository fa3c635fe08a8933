// `npm run test:desktop`: the extension in desktop VS Code, for machines that can download it
// (@vscode/test-cli fetches VS Code). It does not run in CI here, which has no such download;
// CI drives the same extension in code-server instead (test/e2e).
import { defineConfig } from "@vscode/test-cli";

export default defineConfig({
  files: "out/test/desktop/**/*.test.js",
  workspaceFolder: "demo/sample-project",
  mocha: { ui: "tdd", timeout: 60_000 },
});
