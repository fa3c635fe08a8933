import assert from "node:assert/strict";
import * as path from "node:path";
import { TrailStore } from "../../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { DOC_IMAGES, e2eTest, eventually } from "./e2eHarness";

/** [theme as the picker names it, the class VS Code puts on the webview's body]. */
const THEMES: [string, string][] = [
  ["Light Modern", "vscode-light"],
  ["Dark Modern", "vscode-dark"],
  ["Dark High Contrast", "vscode-high-contrast:not(.vscode-high-contrast-light)"],
  ["Light High Contrast", "vscode-high-contrast-light"],
];

/** The text in Step Details whose contrast WCAG AA asks to be at least 4.5:1. */
const TEXT = [".card.tool h3", ".card.tool pre.code", ".error", ".error-type", ".error pre", ".prose", ".meta span", ".step-row .step-no", ".next-step"];

e2eTest(
  "Step Details of a session with failures is readable in Light, Dark and both High Contrast themes (text contrast ≥ 4.5:1)",
  {
    scenario: { turns: [] },
    prepare: async (ws) => {
      const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"));
      await appendLinked(store, sessionEvents({ task: "Run the failing checks", steps: 4, failures: 6 }));
      await store.close();
    },
  },
  async ({ wb }) => {
    await wb.openSessionsView();
    const session = wb.treeRow("Run the failing checks");
    await wb.expand(session);
    await wb.treeRow(/^Step 2(?!\d)/).click();
    const view = wb.webview();
    await view.locator(".error").first().waitFor({ timeout: 30_000 });
    const low: string[] = [];
    for (const [theme, bodyClass] of THEMES) {
      // As a user switches: the Color Theme picker, filtered to the theme, and a click on it.
      await wb.page.keyboard.press("F1");
      const palette = wb.page.locator(".quick-input-widget");
      await palette.locator("input").fill(">Preferences: Color Theme");
      await palette.locator('.monaco-list-row[aria-label^="Preferences: Color Theme"]').first().click();
      await palette.locator("input").fill(theme);
      const name = wb.page.locator(".label-name", { hasText: new RegExp(`^${theme}$`) });
      await palette.locator(".monaco-list-row").filter({ has: name }).first().click();
      await eventually(() => view.locator(`body.${bodyClass}`).count(), `the ${theme} theme`, 30_000);
      await new Promise((r) => setTimeout(r, 500)); // the theme's colors reach the webview's CSS variables
      const ratios = await view.locator("body").evaluate((body, selectors) => {
        const rgba = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number) as number[];
        const lum = ([r, g, b]: number[]) => {
          const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        // The color behind an element: its ancestors' backgrounds blended, down to the page's.
        const behind = (el: Element | null): number[] => {
          const layers: number[][] = [];
          for (let e = el; e; e = e.parentElement) {
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (c.length >= 3 && (c[3] ?? 1) > 0) layers.push(c);
            if (c.length >= 3 && (c[3] ?? 1) >= 1) break;
          }
          let out = [255, 255, 255];
          for (const [r, g, b, a = 1] of layers.reverse()) out = [r * a + out[0] * (1 - a), g * a + out[1] * (1 - a), b * a + out[2] * (1 - a)];
          return out;
        };
        const found: { selector: string; text: string; ratio: number }[] = [];
        for (const selector of selectors) {
          for (const el of Array.from(body.querySelectorAll(selector)).slice(0, 5)) {
            if (!el.textContent?.trim()) continue;
            const bg = behind(el);
            const [r, g, b, a = 1] = rgba(getComputedStyle(el).color);
            const fg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
            const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
            found.push({ selector, text: el.textContent.trim().slice(0, 30), ratio: (l1 + 0.05) / (l2 + 0.05) });
          }
        }
        return found;
      }, TEXT);
      assert.ok(ratios.some((r) => r.selector === ".error"), "the error box was measured");
      for (const r of ratios) if (r.ratio < 4.5) low.push(`${theme}: ${r.selector} "${r.text}" ${r.ratio.toFixed(2)}:1`);
      await wb.screenshot(path.join(DOC_IMAGES, `step-details-${theme.toLowerCase().replace(/ /g, "-")}.png`));
    }
    assert.deepEqual(low, [], `text below 4.5:1:\n${low.join("\n")}`);
  },
);
