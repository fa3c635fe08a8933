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

/**
 * How deep an event's content may nest. SQLite's JSON functions (the trail's triggers and
 * queries use them) refuse more than 1000 levels, and encoding recurses per level: deeper
 * content is refused with a clear reason before anything is written.
 */
export const MAX_CONTENT_DEPTH = 200;

/** Depth of a JSON value (a scalar is 0), counted without recursion and stopping past `limit`. */
export function nestingDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, depth]);
  }
  return max;
}
