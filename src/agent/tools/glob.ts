/**
 * Glob patterns as people write them: `*` (within a folder), `**` (any depth), `?`,
 * `{a,b}` alternatives and `[abc]` classes. A pattern without a slash matches the file
 * name at any depth (`*.ts` finds src/a.ts), like .gitignore does.
 */
export function globToRegExp(pattern: string): RegExp {
  const anyDepth = !pattern.includes("/");
  let re = "";
  let inGroup = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "{") {
      inGroup++;
      re += "(?:";
    } else if (c === "}" && inGroup) {
      inGroup--;
      re += ")";
    } else if (c === "," && inGroup) re += "|";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += "[" + pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\") + "]";
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\]/g, "\\$&");
  }
  return new RegExp(`^${anyDepth ? "(?:.*/)?" : ""}${re.replace(/^\.\//, "")}$`);
}
