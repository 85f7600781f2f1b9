import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import type { Answer } from "./helpers.js";

// Checks an answer of the service against the OpenAPI document the same
// service serves, so the document cannot drift from the code: a status the
// operation does not list, a body its schema refuses, or a header value its
// schema refuses is a problem. Unknown routes must answer the 404 and known
// routes with an unlisted method the 405 the document describes.

type Operation = { responses?: Record<string, Response> };
type Response = {
  content?: { "application/json"?: { schema?: unknown } };
  headers?: Record<string, { schema?: unknown }>;
};
type Document = { paths: Record<string, Record<string, Operation | unknown>>; components: unknown };

const DOC_ID = "https://edgelock.invalid/openapi.json";

export class OpenApiCheck {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly #routes: { pattern: RegExp; methods: Record<string, Operation> }[];
  readonly #compiled = new Map<unknown, ValidateFunction>();

  constructor(document: Document) {
    this.#ajv.addSchema({ $id: DOC_ID, components: document.components });
    this.#routes = Object.entries(document.paths).map(([path, item]) => {
      const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]*")}$`);
      const methods: Record<string, Operation> = {};
      for (const [method, operation] of Object.entries(item)) {
        if (method !== "parameters") methods[method.toUpperCase()] = operation as Operation;
      }
      return { pattern, methods };
    });
  }

  /** The ways `answer` to `method path` departs from the document; empty when it conforms. */
  problems(method: string, path: string, answer: Answer): string[] {
    const pathname = new URL(path, "http://service.invalid").pathname;
    const route = this.#routes.find((candidate) => candidate.pattern.test(pathname));
    const where = `${method} ${pathname} → ${answer.status}`;
    if (!route) {
      if (answer.status !== 404) return [`${where}: a route the document does not describe must answer 404`];
      return this.#check(where, { status: 404, responses: this.#any("404") }, answer);
    }
    const operation = route.methods[method === "HEAD" ? "GET" : method];
    if (!operation) {
      if (answer.status !== 405) return [`${where}: a method the document does not list must answer 405`];
      const responses = Object.values(route.methods).find((op) => op.responses?.["405"])?.responses;
      return this.#check(where, { status: 405, responses: responses ?? {} }, answer);
    }
    return this.#check(where, { status: answer.status, responses: operation.responses ?? {} }, answer);
  }

  #any(status: string): Record<string, Response> {
    for (const route of this.#routes) {
      for (const operation of Object.values(route.methods)) {
        const response = operation.responses?.[status];
        if (response) return { [status]: response };
      }
    }
    return {};
  }

  #check(where: string, at: { status: number; responses: Record<string, Response> }, answer: Answer): string[] {
    const response = at.responses[String(at.status)];
    if (!response) return [`${where}: status not documented for this operation`];
    const problems: string[] = [];
    const schema = response.content?.["application/json"]?.schema;
    if (schema !== undefined && answer.text !== "") {
      const validate = this.#validator(schema);
      if (!validate(answer.json))
        problems.push(`${where}: body ${answer.text} — ${this.#ajv.errorsText(validate.errors)}`);
    }
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = answer.headers.get(name);
      if (value === null || header.schema === undefined) continue;
      const validate = this.#validator(header.schema);
      const typed = /^-?\d+$/.test(value) ? Number(value) : value;
      if (!validate(typed))
        problems.push(`${where}: header ${name}: ${value} — ${this.#ajv.errorsText(validate.errors)}`);
    }
    return problems;
  }

  #validator(schema: unknown): ValidateFunction {
    let validate = this.#compiled.get(schema);
    if (!validate) {
      // References point into the document's components, registered under DOC_ID.
      const rooted = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`));
      validate = this.#ajv.compile(rooted);
      this.#compiled.set(schema, validate);
    }
    return validate;
  }
}
