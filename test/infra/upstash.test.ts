import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UPSTASH_REDIS_REST_TOKEN, UPSTASH_REDIS_REST_URL } from "../../service/env.js";
import { ROOT } from "./support/source.js";
import { only, parseHcl, readTerraformModule } from "./support/terraform.js";

const module = readTerraformModule(join(ROOT, "infra/upstash"));
const databases = module.resource.upstash_redis_database ?? {};
const [databaseName] = Object.keys(databases);
const database = only(databases[databaseName ?? ""], "upstash_redis_database");
const address = `upstash_redis_database.${databaseName}`;

describe("infra/upstash (Terraform)", () => {
  it("the parser rejects broken HCL, so a parse that passes means something", () => {
    expect(() => parseHcl('resource "x" "y" {\n  a = "unterminated\n}\n')).toThrow();
  });

  it("uses the official Upstash provider, pinned to a major version", () => {
    const providers = module.terraform.flatMap(
      (block) => (block.required_providers ?? []) as Array<Record<string, unknown>>,
    );
    const upstash = providers.map((provider) => provider.upstash).filter(Boolean);
    expect(upstash).toHaveLength(1);
    expect(upstash[0]).toMatchObject({ source: "upstash/upstash" });
    expect(String((upstash[0] as { version: unknown }).version)).toMatch(/^~> \d+\.\d+$/);
  });

  it("declares exactly one Redis database, global, with TLS and never evicting locks", () => {
    expect(Object.keys(module.resource)).toEqual(["upstash_redis_database"]);
    expect(Object.keys(databases)).toHaveLength(1);
    expect(database.region).toBe("global");
    expect(database.tls).toBe(true);
    expect(database.eviction).toBe(false);
  });

  it("takes the account's API key as a sensitive variable, never a literal", () => {
    const provider = only(module.provider.upstash, 'provider "upstash"');
    expect(provider.api_key).toBe(`\${var.upstash_api_key}`);
    expect(only(module.variable.upstash_api_key, "variable upstash_api_key").sensitive).toBe(true);
  });

  it("outputs the REST URL and token under the names the service and the client read", () => {
    const url = only(module.output[UPSTASH_REDIS_REST_URL], `output ${UPSTASH_REDIS_REST_URL}`);
    const token = only(module.output[UPSTASH_REDIS_REST_TOKEN], `output ${UPSTASH_REDIS_REST_TOKEN}`);
    // The REST client (and the adapter) accept only http(s) URLs.
    expect(url.value).toBe(`https://\${${address}.endpoint}`);
    // The read-only token cannot take locks.
    expect(token.value).toBe(`\${${address}.rest_token}`);
    expect(token.sensitive).toBe(true);
  });

  it("gives every variable a description and a type, and every one it uses is declared", () => {
    const text = JSON.stringify(module.resource) + JSON.stringify(module.provider) + JSON.stringify(module.output);
    const used = new Set([...text.matchAll(/\bvar\.(\w+)/g)].map((match) => match[1]));
    for (const name of used) expect(Object.keys(module.variable)).toContain(name);
    for (const [name, blocks] of Object.entries(module.variable)) {
      const variable = only(blocks, `variable ${name}`);
      expect(variable.description, name).toEqual(expect.any(String));
      expect(variable.type, name).toEqual(expect.stringMatching(/^\$\{.+\}$/));
    }
  });
});
