/**
 * Canonical JSON: object keys sorted by UTF-16 code unit order (like JSON.stringify's
 * default string comparison), no insignificant whitespace, numbers as JSON.stringify
 * writes them. Another implementation can reproduce these bytes exactly, which is what
 * makes the hash chain checkable without our code (see docs/trail-format.md).
 */
export function canonicalJson(value: unknown): string {
  return encode(value, "$");
}

function encode(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is not a finite number`);
      return JSON.stringify(value);
    case "bigint":
      return value.toString();
    case "object": {
      if (Array.isArray(value)) {
        // undefined inside arrays becomes null, as JSON.stringify does.
        return "[" + value.map((v, i) => (v === undefined ? "null" : encode(v, `${path}[${i}]`))).join(",") + "]";
      }
      const maybeJson = value as { toJSON?: () => unknown };
      if (typeof maybeJson.toJSON === "function") return encode(maybeJson.toJSON(), path);
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(obj).sort()) {
        const v = obj[key];
        if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
        parts.push(JSON.stringify(key) + ":" + encode(v, `${path}.${key}`));
      }
      return "{" + parts.join(",") + "}";
    }
    default:
      throw new TypeError(`canonicalJson: ${path} has unsupported type ${typeof value}`);
  }
}
