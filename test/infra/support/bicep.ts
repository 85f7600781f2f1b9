/**
 * A small reader for the Bicep subset our templates use: `param`, `var`,
 * `resource` and `output` declarations, with their decorators, and resource
 * bodies as objects. Literals become JS values; any other expression is kept
 * as `{ expr: "…" }` source text. Not a Bicep compiler: it fails loudly on
 * what it does not understand rather than guessing.
 */

export interface Expr {
  readonly expr: string;
}
export type BicepValue = string | number | boolean | null | Expr | BicepValue[] | { [key: string]: BicepValue };

export interface BicepParam {
  readonly type: string;
  readonly default?: BicepValue;
  readonly decorators: string[];
}
export interface BicepResource {
  readonly type: string;
  readonly apiVersion: string;
  readonly body: Record<string, BicepValue>;
}
export interface BicepFile {
  readonly params: Record<string, BicepParam>;
  readonly vars: Record<string, BicepValue>;
  readonly resources: Record<string, BicepResource>;
  readonly outputs: Record<string, { readonly type: string; readonly value: BicepValue }>;
}

export const isExpr = (value: unknown): value is Expr =>
  typeof value === "object" && value !== null && !Array.isArray(value) && "expr" in value;

/** Drops `//` and `/* … *\/` comments outside strings. */
function stripComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end - 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new Error("unterminated block comment");
      i = end + 1;
    } else out += c;
  }
  return out;
}

/** Index just past the string literal that starts at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === "'") return i + 1;
    else if (text[i] === "\n") break;
  }
  throw new Error(`unterminated string at ${text.slice(start, start + 40)}`);
}

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(newlines: boolean): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) this.pos++;
      else break;
    }
  }

  value(): BicepValue {
    this.skipSpace(false);
    const c = this.text[this.pos];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    const raw = this.expression();
    if (/^'([^'\\$]|\\.|\$(?!\{))*'$/.test(raw)) return raw.slice(1, -1).replace(/\\(.)/g, "$1");
    if (/^'.*'$/.test(raw) && stringEnd(raw, 0) === raw.length) return { expr: raw };
    if (/^-?\d+$/.test(raw)) return Number(raw);
    if (raw === "true" || raw === "false") return raw === "true";
    if (raw === "null") return null;
    if (raw === "") throw new Error(`expected a value at: ${this.text.slice(this.pos, this.pos + 40)}`);
    return { expr: raw };
  }

  /** Source text up to the end of the line, keeping brackets and strings balanced. */
  expression(): string {
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === "'") {
        this.pos = stringEnd(this.text, this.pos);
        continue;
      }
      if (c === "(" || c === "[" || c === "{") depth++;
      else if (c === ")" || c === "]" || c === "}") {
        if (depth === 0) break;
        depth--;
      } else if (c === "\n" && depth === 0) break;
      this.pos++;
    }
    return this.text.slice(start, this.pos).trim();
  }

  object(): Record<string, BicepValue> {
    this.expect("{");
    const result: Record<string, BicepValue> = {};
    for (;;) {
      this.skipSpace(true);
      if (this.text[this.pos] === "}") {
        this.pos++;
        return result;
      }
      const key = /^(?:'([^']*)'|([A-Za-z_$][\w$]*))\s*:/.exec(this.text.slice(this.pos));
      if (!key) throw new Error(`expected a property at: ${this.text.slice(this.pos, this.pos + 40)}`);
      this.pos += key[0].length;
      const name = key[1] ?? key[2] ?? "";
      if (name in result) throw new Error(`duplicate property ${name}`);
      result[name] = this.value();
    }
  }

  array(): BicepValue[] {
    this.expect("[");
    const result: BicepValue[] = [];
    for (;;) {
      this.skipSpace(true);
      if (this.text[this.pos] === "]") {
        this.pos++;
        return result;
      }
      result.push(this.value());
    }
  }

  expect(c: string): void {
    if (this.text[this.pos] !== c) throw new Error(`expected "${c}" at: ${this.text.slice(this.pos, this.pos + 40)}`);
    this.pos++;
  }
}

/** Parse a Bicep file's declarations; throws on anything unrecognised at top level. */
export function parseBicep(source: string): BicepFile {
  const reader = new Reader(stripComments(source));
  const file: BicepFile = { params: {}, vars: {}, resources: {}, outputs: {} };
  let decorators: string[] = [];
  for (;;) {
    reader.skipSpace(true);
    if (reader.pos >= reader.text.length) return file;
    const rest = reader.text.slice(reader.pos);
    const decorator = /^@/.exec(rest);
    const head = /^(targetScope|param|var|resource|output)\b\s*/.exec(rest);
    if (decorator) {
      reader.pos++;
      decorators.push(reader.expression());
      continue;
    }
    if (!head) throw new Error(`unexpected top-level text: ${rest.slice(0, 60)}`);
    reader.pos += head[0].length;
    const after = reader.text.slice(reader.pos);
    let match: RegExpExecArray | null;
    switch (head[1]) {
      case "targetScope":
        reader.expression();
        break;
      case "param": {
        match = /^(\w+)\s+(\w+)[ \t]*(=)?/.exec(after);
        if (!match?.[1] || !match[2]) throw new Error(`bad param: ${after.slice(0, 60)}`);
        reader.pos += match[0].length;
        const param: BicepParam = { type: match[2], decorators };
        file.params[match[1]] = match[3] ? { ...param, default: reader.value() } : param;
        break;
      }
      case "var":
        match = /^(\w+)\s*=/.exec(after);
        if (!match?.[1]) throw new Error(`bad var: ${after.slice(0, 60)}`);
        reader.pos += match[0].length;
        file.vars[match[1]] = reader.value();
        break;
      case "resource": {
        match = /^(\w+)\s+'([^'@]+)@([^']+)'\s*=\s*/.exec(after);
        if (!match?.[1] || !match[2] || !match[3]) throw new Error(`bad resource: ${after.slice(0, 60)}`);
        reader.pos += match[0].length;
        const body = reader.value();
        if (typeof body !== "object" || body === null || Array.isArray(body) || isExpr(body)) {
          throw new Error(`resource ${match[1]}: only plain object bodies are supported`);
        }
        file.resources[match[1]] = { type: match[2], apiVersion: match[3], body };
        break;
      }
      case "output":
        match = /^(\w+)\s+(\w+)\s*=/.exec(after);
        if (!match?.[1] || !match[2]) throw new Error(`bad output: ${after.slice(0, 60)}`);
        reader.pos += match[0].length;
        file.outputs[match[1]] = { type: match[2], value: reader.value() };
        break;
    }
    decorators = [];
  }
}
