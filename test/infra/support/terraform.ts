import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import hcl from "hcl2-parser";

/** One block's attributes, as hcl2json gives them: expressions as `${…}` strings. */
export type Block = Record<string, unknown>;

/** A Terraform module: every `*.tf` file of a folder, merged by block type. */
export interface TerraformModule {
  readonly terraform: Block[];
  readonly provider: Record<string, Block[]>;
  readonly variable: Record<string, Block[]>;
  readonly resource: Record<string, Record<string, Block[]>>;
  readonly output: Record<string, Block[]>;
}

/** Parse one HCL2 text; a syntax error throws with the parser's message. */
export function parseHcl(text: string, file = "input.tf"): Record<string, unknown> {
  const [json, error] = hcl.parseToObject(text);
  if (error !== null || json === null || typeof json !== "object") {
    throw new Error(`${file}: ${JSON.stringify(error)}`);
  }
  return json as Record<string, unknown>;
}

export function readTerraformModule(dir: string): TerraformModule {
  const merged: Record<string, unknown> = { terraform: [], provider: {}, variable: {}, resource: {}, output: {} };
  const files = readdirSync(dir).filter((file) => file.endsWith(".tf"));
  if (files.length === 0) throw new Error(`no .tf files in ${dir}`);
  for (const file of files) {
    for (const [kind, value] of Object.entries(parseHcl(readFileSync(join(dir, file), "utf8"), file))) {
      const into = merged[kind];
      if (Array.isArray(into) && Array.isArray(value)) into.push(...value);
      else if (kind === "resource") {
        const resources = into as Record<string, Record<string, Block[]>>;
        for (const [type, named] of Object.entries(value as Record<string, Record<string, Block[]>>)) {
          resources[type] = { ...resources[type], ...named };
        }
      } else if (into && typeof into === "object") Object.assign(into, value);
      else merged[kind] = value;
    }
  }
  return merged as unknown as TerraformModule;
}

/** The single block under a label (Terraform forbids duplicates; hcl2json still gives arrays). */
export function only(blocks: Block[] | undefined, what: string): Block {
  if (blocks?.length !== 1) throw new Error(`expected exactly one ${what}, found ${blocks?.length ?? 0}`);
  return blocks[0] as Block;
}
