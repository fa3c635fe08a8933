/** The subset of JSON Schema our tool definitions use. */
export interface InputSchema {
  type: "object";
  properties: Record<string, PropertySchema>;
  required?: string[];
  additionalProperties?: boolean;
}

export interface PropertySchema {
  type: "string" | "integer" | "number" | "boolean";
  description?: string;
  minimum?: number;
  enum?: string[];
}

/** Checks a tool input against its schema; returns the problems, empty when valid. */
export function validateInput(schema: InputSchema, input: unknown): string[] {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return ["input must be a JSON object"];
  const obj = input as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of schema.required ?? []) {
    if (obj[key] === undefined) problems.push(`"${key}" is required`);
  }
  for (const [key, value] of Object.entries(obj)) {
    const prop = schema.properties[key];
    if (!prop) {
      if (schema.additionalProperties === false) problems.push(`"${key}" is not a known property`);
      continue;
    }
    const ok =
      prop.type === "integer" ? Number.isInteger(value)
      : prop.type === "number" ? typeof value === "number" && Number.isFinite(value)
      : typeof value === prop.type;
    if (!ok) {
      problems.push(`"${key}" must be ${prop.type === "integer" ? "an integer" : `a ${prop.type}`}`);
      continue;
    }
    if (prop.minimum !== undefined && (value as number) < prop.minimum) problems.push(`"${key}" must be at least ${prop.minimum}`);
    if (prop.enum && !prop.enum.includes(value as string)) problems.push(`"${key}" must be one of ${prop.enum.join(", ")}`);
  }
  return problems;
}
