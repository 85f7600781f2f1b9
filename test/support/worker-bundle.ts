import { build } from "esbuild";

/**
 * Bundle a Worker's source (importing from the repository by relative path)
 * as wrangler would ship it: one ES module, the `workerd`/`worker`/`browser`
 * export conditions and browser builds of the SDKs, no Node compatibility.
 */
export async function bundleWorker(source: string): Promise<string> {
  const bundle = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: "ts", sourcefile: "worker.ts" },
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    write: false,
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.text;
  if (script === undefined) throw new Error("esbuild produced no output");
  return script;
}
