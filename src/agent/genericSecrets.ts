/**
 * A few rules of our own on top of secretlint's, for what its vendor-specific rules miss:
 * generic assignments of a secret to a well-named key (`password=…`, `"api_key": "…"`,
 * `DB_PASSWORD: …`). Tuned to stay quiet on ordinary code: the value must look like a value
 * (not a type, a call, a variable or a placeholder).
 */

// A key whose name says it holds a secret: password, secret, token, api key, private key...
const KEY = String.raw`[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)[A-Za-z0-9_]*`;

const RULES: { name: string; re: RegExp }[] = [
  // Quoted values: password = "…", "token": "…", api_key: '…'
  { name: "generic-secret", re: new RegExp(String.raw`(?<![A-Za-z0-9])["']?${KEY}["']?\s*(?::|=|:=|=>)\s*(["'\`])([^"'\`\s]{6,})\1`, "gi") },
  // Unquoted values at the start of a line (.env, ini, YAML, shell): DB_PASSWORD=…, secret: …
  { name: "generic-secret", re: new RegExp(String.raw`^[ \t]*(?:export[ \t]+|-[ \t]+)?${KEY}[ \t]*(?::|=)[ \t]*()([^\s"'\`#;,]{6,})`, "gim") },
  // Command-line flags: --password hunter22, --token=…
  { name: "generic-secret", re: new RegExp(String.raw`--(?:password|passwd|token|secret|api-key|apikey)(?:=|[ \t]+)()([^\s"'\`-][^\s"'\`]{5,})`, "gi") },
];

/** True for what is code or a placeholder rather than a secret value. */
function notAValue(v: string): boolean {
  return (
    /^[A-Za-z]+$/.test(v) || // a word: a type (string), a keyword (null, None), a name
    /^[A-Za-z_$][\w$]*(\.[\w$]+)+$/.test(v) || // member access: process.env.X, os.environ, config.token
    /[()[\]{}<>]/.test(v) || // a call, a generic, a template placeholder
    /^\$|^%|^\*+$|^x+$|^\[REDACTED:/i.test(v) || // $VAR, %s, ****, xxxx, already redacted
    /^[A-Z0-9_]+$/.test(v) && v.includes("_") // ANOTHER_VARIABLE_NAME
  );
}

/** Ranges of generic secret values in `text`, each with its redaction marker. */
export function genericSecretRanges(text: string): { start: number; end: number; marker: string }[] {
  const out: { start: number; end: number; marker: string }[] = [];
  for (const { name, re } of RULES) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const value = m[2];
      if (!value || notAValue(value)) continue;
      const start = m.index + m[0].lastIndexOf(value);
      out.push({ start, end: start + value.length, marker: `[REDACTED:${name}]` });
    }
  }
  return out;
}
