import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, FrameLocator, Locator, Page } from "playwright-core";
import { chromium } from "playwright-core";

const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A VS Code workbench in Debian's Chromium, driven the way a user would. */
export class Workbench {
  readonly dialogs: string[] = [];

  private constructor(
    private readonly browser: Browser,
    readonly page: Page,
  ) {}

  static async open(url: string, folder: string): Promise<Workbench> {
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const wb = new Workbench(browser, page);
    // Any alert/confirm from any frame is recorded (the hostile-content test expects none).
    page.on("dialog", (d) => {
      wb.dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${url}/?folder=${encodeURIComponent(folder)}`);
    await wb.waitForWorkbench();
    return wb;
  }

  async waitForWorkbench(): Promise<void> {
    await this.page.waitForSelector(".monaco-workbench", { timeout: 90_000 });
    await this.page.locator(".statusbar").waitFor({ timeout: 60_000 });
  }

  /** Runs a command from the command palette by its title. */
  async runCommand(title: string): Promise<void> {
    await this.page.keyboard.press("F1");
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible" });
    await input.fill(`>${title}`);
    const item = this.page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
    await item.waitFor({ timeout: 20_000 });
    await input.press("Enter");
  }

  /** Types into the open input box and submits. */
  async answerInputBox(value: string, expectTitle?: RegExp): Promise<void> {
    const widget = this.page.locator(".quick-input-widget");
    await widget.waitFor({ state: "visible", timeout: 20_000 });
    if (expectTitle) await widget.locator(".quick-input-title", { hasText: expectTitle }).waitFor({ timeout: 20_000 });
    const input = widget.locator("input");
    await input.fill(value);
    await input.press("Enter");
  }

  /** A notification toast whose message matches. */
  notification(text: RegExp): Locator {
    return this.page.locator(".notification-toast", { hasText: text }).first();
  }

  async clickNotificationButton(text: RegExp, button: string, timeout = 30_000): Promise<void> {
    const toast = this.notification(text);
    await toast.waitFor({ timeout });
    await toast.locator(".monaco-button", { hasText: new RegExp(`^${escapeRe(button)}$`) }).click();
  }

  /** A modal dialog (VS Code's own, in the page) whose text matches. */
  dialog(text: RegExp): Locator {
    return this.page.locator(".monaco-dialog-box", { hasText: text }).first();
  }

  async clickDialogButton(text: RegExp, button: string, timeout = 30_000): Promise<void> {
    const box = this.dialog(text);
    await box.waitFor({ timeout });
    await box.locator(".dialog-buttons .monaco-button", { hasText: new RegExp(`^${escapeRe(button)}$`) }).click();
  }

  async openSessionsView(): Promise<void> {
    // An empty trail shows the welcome content instead of the tree: wait for the view itself.
    // After a reload VS Code may restore the container on its own, and clicking its
    // activity-bar item then would close it again: click only while it is not showing.
    const container = this.page.locator('[id="workbench.view.extension.agentAudit"]');
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await container.waitFor({ timeout: attempt === 0 ? 1_500 : 10_000 }).then(() => true, () => false)) return;
      await this.page.locator('.activitybar a[aria-label="Agent Audit"]').click();
    }
    await container.waitFor({ timeout: 10_000 });
  }

  tree(): Locator {
    return this.page.locator('[id="workbench.view.extension.agentAudit"] .monaco-list[aria-label="Sessions"]');
  }

  treeRow(text: RegExp | string): Locator {
    return this.tree().locator(".monaco-list-row", { hasText: text }).first();
  }

  /** Expands a collapsed row (a click on its twistie). */
  async expand(row: Locator): Promise<void> {
    // A re-read of the tree that lands while the children load can leave the row collapsed
    // (VS Code drops the expansion): click again, as a user would, a few times at most.
    for (let attempt = 0; attempt < 4; attempt++) {
      if ((await row.getAttribute("aria-expanded")) !== "false") return;
      await row.locator(".monaco-tl-twistie").click();
      for (let i = 0; i < 10 && (await row.getAttribute("aria-expanded")) === "false"; i++) await this.page.waitForTimeout(100);
    }
  }

  /** Clicks an action in the Sessions view's title bar (VS Code shows them while it is hovered). */
  async clickViewTitleAction(label: string): Promise<void> {
    const header = this.page.locator(".part.sidebar .pane-header", { hasText: "Sessions" }).first();
    await header.hover();
    await header.locator(`.actions-container [aria-label="${label}"]`).first().click();
  }

  /** The Step Details webview: an iframe in an iframe. */
  webview(): FrameLocator {
    return this.page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
  }

  async screenshot(file: string): Promise<void> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.page.screenshot({ path: file });
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
