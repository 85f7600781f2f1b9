import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";

// Every subpath the package exports is built from a source file that exists,
// and the published shape is the one the house rules require.
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

describe("package.json", () => {
  test("is an ESM package without side effects, for Node 20.19+", () => {
    expect(pkg.type).toBe("module");
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.engines.node).toBe(">=20.19");
  });

  const entries = Object.entries(pkg.exports as Record<string, unknown>).filter(([path]) => path !== "./package.json");
  test.each(entries)("export %s has types and default, built from an existing source", (_path, target) => {
    const { types, default: js } = target as { types: string; default: string };
    expect(types).toMatch(/^\.\/dist\/.+\.d\.ts$/);
    expect(js).toBe(types.replace(/\.d\.ts$/, ".js"));
    const source = js.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts");
    expect(existsSync(new URL(`../${source}`, import.meta.url)), source).toBe(true);
  });

  test("every platform entry of the service is exported as edgelock/server/<name>", () => {
    for (const name of ["node", "lambda", "azure-functions", "worker"]) {
      expect(pkg.exports[`./server/${name}`]?.default).toBe(`./dist/service/platforms/${name}.js`);
    }
  });

  test("the build emits every exported source", () => {
    const build = JSON.parse(readFileSync(new URL("../tsconfig.build.json", import.meta.url), "utf8"));
    for (const [, target] of entries) {
      const folder = (target as { default: string }).default.replace(/^\.\/dist\//, "").split("/")[0];
      expect(build.include).toContain(folder);
    }
  });

  test("every backend SDK is an optional peer, not a dependency", () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    for (const name of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[name]?.optional).toBe(true);
  });
});

describe("package metadata", () => {
  test("ships a LICENSE matching package.json's, and says where the project lives", () => {
    expect(pkg.license).toBe("MIT");
    expect(readFileSync(new URL("../LICENSE", import.meta.url), "utf8")).toMatch(
      /^MIT License[\s\S]+edgelock contributors/,
    );
    expect(pkg.repository.url).toMatch(/github\.com\/edgelock\/edgelock/);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs.url).toMatch(/\/issues$/);
    expect(pkg.keywords).toContain("distributed-lock");
  });

  test("@cloudflare/workers-types, which the Durable Object class's types need, is an optional peer", () => {
    expect(pkg.peerDependencies["@cloudflare/workers-types"]).toBeDefined();
    expect(pkg.peerDependenciesMeta["@cloudflare/workers-types"]?.optional).toBe(true);
  });

  test("old node10 resolution finds every subpath's types through typesVersions", () => {
    const exported = Object.entries(pkg.exports as Record<string, { types?: string }>);
    for (const [path, target] of exported) {
      if (path === "." || path === "./package.json") continue;
      expect(pkg.typesVersions["*"][path.slice(2)]).toEqual([target.types?.slice(2)]);
    }
  });
});
