// Helpers for the Step Details webview's DOM: every string becomes a text node, never markup.
import type { WebviewToHost } from "../shared/protocol";

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export const vscode = acquireVsCodeApi();

export type Child = Node | string | null | undefined | false;

/** Creates an element; strings become text nodes, never markup. */
export function el(tag: string, props: { class?: string; title?: string; attrs?: Record<string, string> } = {}, ...children: Child[]): HTMLElement {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.title) node.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

export function icon(name: string, cls = ""): HTMLElement {
  return el("span", { class: `codicon codicon-${name} ${cls}`.trim(), attrs: { "aria-hidden": "true" } });
}

/** A duration: "850 ms", "4.2 s", "3.5 min". */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  if (v < 1000) return `${Math.round(v)} ms`;
  return v < 120_000 ? `${(v / 1000).toFixed(1)} s` : `${(v / 60_000).toFixed(1)} min`;
}

export function num(n: number): string {
  return n.toLocaleString("en-US");
}

export function post(m: WebviewToHost): void {
  vscode.postMessage(m);
}
