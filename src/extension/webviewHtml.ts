import { randomBytes } from "node:crypto";

export interface WebviewHtmlInput {
  /** webview.cspSource: the origin VS Code serves local resources from. */
  cspSource: string;
  /** URIs (as strings) of our bundle's script and styles, from webview.asWebviewUri. */
  scriptUri: string;
  styleUris: string[];
  title: string;
  /** Fixed only in tests; a fresh one per render otherwise. */
  nonce?: string;
}

/**
 * The only place webview HTML is built. `default-src 'none'`; scripts only with this
 * render's nonce; styles and fonts only from our bundle folder; no inline handlers. The page
 * holds no trail content: the script renders it later, as text.
 */
export function buildWebviewHtml(input: WebviewHtmlInput): string {
  const nonce = input.nonce ?? randomBytes(18).toString("base64");
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${input.cspSource}`,
    `font-src ${input.cspSource}`,
    `img-src ${input.cspSource}`,
  ].join("; ");
  const styles = input.styleUris.map((u) => `<link rel="stylesheet" href="${escapeAttr(u)}">`).join("\n    ");
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${csp}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    ${styles}
    <title>${escapeText(input.title)}</title>
  </head>
  <body>
    <main id="app" aria-live="polite"><p class="empty">Loading…</p></main>
    <script nonce="${nonce}" src="${escapeAttr(input.scriptUri)}"></script>
  </body>
</html>`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
