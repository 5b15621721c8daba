/**
 * TypeScript source with comments and string contents blanked out, so that
 * a search for identifiers (`Deno`, `process`) finds code, not prose or
 * text. A small scanner, not a parser: it knows line and block comments,
 * quotes, template literals with nested `${…}`, and regex literals.
 *
 * @module
 */

const REGEX_MAY_FOLLOW = new Set(["", "(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";"]);

/** `source` with every comment and every string or regex body replaced by spaces. */
export function codeOnly(source: string): string {
  let out = "";
  let i = 0;
  /** Brace depth of each `${` we are inside, innermost last. */
  const templates: number[] = [];
  let braces = 0;
  let last = ""; // last significant code character
  const blank = (text: string) => text.replace(/[^\n]/g, " ");
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end < 0 ? source.length : end;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (
      c === '"' || c === "'" || (c === "`") || (c === "}" && templates.at(-1) === braces)
    ) {
      // A quote, or the `}` that closes a `${…}` and resumes its template.
      if (c === "}") templates.pop();
      const quote = c === "}" ? "`" : c;
      let j = i + 1;
      while (j < source.length && source[j] !== quote) {
        if (source[j] === "\\") j++;
        else if (quote === "`" && source[j] === "$" && source[j + 1] === "{") break;
        j++;
      }
      if (quote === "`" && source[j] === "$") {
        out += c + blank(source.slice(i + 1, j)) + "${";
        templates.push(braces);
        i = j + 2;
      } else {
        out += c + blank(source.slice(i + 1, j)) + (source[j] ?? "");
        i = j + 1;
      }
      last = quote;
    } else if (c === "/" && (REGEX_MAY_FOLLOW.has(last) || /return$/.test(out.trimEnd()))) {
      let j = i + 1;
      let inClass = false;
      while (j < source.length && (inClass || source[j] !== "/") && source[j] !== "\n") {
        if (source[j] === "\\") j++;
        else if (source[j] === "[") inClass = true;
        else if (source[j] === "]") inClass = false;
        j++;
      }
      out += "/" + blank(source.slice(i + 1, j)) + "/";
      i = j + 1;
      last = "/";
    } else {
      if (c === "{") braces++;
      if (c === "}") braces--;
      if (!/\s/.test(c)) last = c;
      out += c;
      i++;
    }
  }
  return out;
}
