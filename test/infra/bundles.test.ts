import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, TARGETS } from "../../infra/bundle.mjs";
import { onlyResource, readCloudFormation } from "./support/cloudformation.js";
import { ROOT, readSource } from "./support/source.js";

// What infra/bundle.mjs builds is what the templates deploy: same paths, and a
// bundle that loads and exports the handler the platform calls.
let outdir = "";
beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "edgelock-infra-bundle-"));
});
afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe("AWS Lambda bundle", () => {
  const template = readCloudFormation(join(ROOT, "infra/aws/template.yaml"));
  const props = onlyResource(template, "AWS::Serverless::Function")[1].Properties ?? {};

  it("is written where the template's CodeUri and Handler expect it", () => {
    const [file, handler] = String(props.Handler).split(".");
    expect(handler).toBe("handler");
    expect(join("infra/aws", String(props.CodeUri), `${file}.mjs`)).toBe(TARGETS.aws.outfile);
  });

  it("builds from the Lambda entry and exports an async handler", async () => {
    const { outfile, bytes } = await bundle("aws", { outfile: join(outdir, "lambda/index.mjs") });
    expect(bytes).toBeGreaterThan(0);
    const loaded = (await import(pathToFileURL(outfile).href)) as { handler?: unknown };
    expect(loaded.handler).toBeTypeOf("function");
  }, 60_000);
});

describe("Azure Functions bundle", () => {
  const manifest = JSON.parse(readSource("infra/azure/function/package.json")) as { main?: string; type?: string };

  it("is the main of the deployment package", () => {
    expect(manifest.type).toBe("module");
    expect(join("infra/azure/function", manifest.main ?? "")).toBe(TARGETS.azure.outfile);
  });

  it("builds from the Azure Functions entry, registering its routes with @azure/functions", async () => {
    const { outfile, bytes } = await bundle("azure", { outfile: join(outdir, "azure/index.mjs") });
    expect(bytes).toBeGreaterThan(0);
    expect(relative(ROOT, join(ROOT, TARGETS.azure.entry))).toBe("service/platforms/azure-functions.ts");
    expect(readSource(TARGETS.azure.entry)).toMatch(/from\s+["']@azure\/functions["']/);
    expect(outfile.endsWith(".mjs")).toBe(true);
  }, 60_000);
});
