/**
 * A few rules of our own on top of secretlint's, for what its vendor-specific rules miss:
 * generic assignments of a secret to a well-named key (`password=…`, `"api_key": "…"`,
 * `DB_PASSWORD: …`). Tuned to stay quiet on ordinary code: the value must look like a value
 * (not a type, a call, a variable or a placeholder).
 */

// A key whose name says it holds a secret: password, secret, token, api key, private key...
const KEY = String.raw`[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)[A-Za-z0-9_]*`;

/**
 * Each rule's group 2 is the value to hide. `anyValue` rules match where the syntax itself
 * says a secret follows (`-u user:…`, `://user:…@`, `Bearer …`), so the value is not
 * second-guessed as code.
 */
const RULES: { name: string; re: RegExp; anyValue?: boolean }[] = [
  // Quoted values: password = "…", "token": "…", api_key: '…'
  { name: "generic-secret", re: new RegExp(String.raw`(?<![A-Za-z0-9])["']?${KEY}["']?\s*(?::|=|:=|=>)\s*(["'\`])([^"'\`\s]{6,})\1`, "gi") },
  // Unquoted values at the start of a line (.env, ini, YAML, shell): DB_PASSWORD=…, secret: …
  { name: "generic-secret", re: new RegExp(String.raw`^[ \t]*(?:export[ \t]+|-[ \t]+)?${KEY}[ \t]*(?::|=)[ \t]*()([^\s"'\`#;,]{6,})`, "gim") },
  // Command-line flags: --password hunter22, --token=…
  { name: "generic-secret", re: new RegExp(String.raw`--(?:password|passwd|token|secret|api-key|apikey)(?:=|[ \t]+)()([^\s"'\`-][^\s"'\`]{5,})`, "gi") },
  // Unquoted values anywhere in a line (prose, logs, URLs' queries): "… with password=hunter2secret now".
  { name: "generic-secret", re: new RegExp(String.raw`(?<![A-Za-z0-9])${KEY}[ \t]*(?::|=|:=)[ \t]*()([^\s"'\`#;,&)]{6,})`, "gi") },
  // An Authorization header's credentials, in any syntax (a log line, curl -H, JSON, YAML).
  { name: "authorization", re: /(?<![A-Za-z0-9])authorization["']?[ \t]*[:=][ \t]*["']?(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?()([^\s"'`,;]{6,})/gi, anyValue: true },
  // A bearer token wherever it stands: "Bearer <token>".
  { name: "authorization", re: /(?<![A-Za-z0-9])bearer[ \t]+()([A-Za-z0-9\-._~+/]{8,}=*)/gi },
  // curl's -u/--user user:password (and wget's, httpie's -a).
  { name: "basic-auth-password", re: /\b(?:curl|wget|https?|xh)\b[^\n|;&]*?[\s'"](?:-u|--user|--http-user|-a|--auth)(?:=|[ \t]+)["']?[^\s:"']+:()([^\s"'@]+)/g, anyValue: true },
  // A URL's userinfo password: scheme://user:password@host.
  { name: "basic-auth-password", re: /[a-z][a-z0-9+.-]*:\/\/[^\s/:@"'`]+:()([^\s/@"'`]+)@/gi, anyValue: true },
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

/** A variable or a marker standing where a value would be: `$PASS`, `%s`, `****`, `[REDACTED:…]`. */
function placeholder(v: string): boolean {
  return /^\$|^%|^\*+$|^\[REDACTED:|^\{\{|^<[^>]*>$/i.test(v);
}

/** Ranges of generic secret values in `text`, each with its redaction marker. */
export function genericSecretRanges(text: string): { start: number; end: number; marker: string }[] {
  const out: { start: number; end: number; marker: string }[] = [];
  for (const { name, re, anyValue } of RULES) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const value = m[2];
      if (!value || (anyValue ? placeholder(value) : notAValue(value))) continue;
      const start = m.index + m[0].lastIndexOf(value);
      out.push({ start, end: start + value.length, marker: `[REDACTED:${name}]` });
    }
  }
  return out;
}
