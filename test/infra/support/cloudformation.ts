import { readFileSync } from "node:fs";
import { parseDocument, type Tags, type YAMLMap, type YAMLSeq } from "yaml";

/** A template after parsing: short-form tags become their JSON long form (`!Ref x` → `{ Ref: "x" }`). */
export interface CfnTemplate {
  readonly Transform?: unknown;
  readonly Parameters?: Record<string, Record<string, unknown>>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown; readonly Condition?: string }>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Properties?: Record<string, unknown>;
}

const FUNCTIONS = [
  "Base64",
  "Cidr",
  "Equals",
  "FindInMap",
  "GetAtt",
  "GetAZs",
  "If",
  "ImportValue",
  "Join",
  "Not",
  "And",
  "Or",
  "Select",
  "Split",
  "Sub",
  "Transform",
] as const;

const longForm = (name: string): string => (name === "Ref" || name === "Condition" ? name : `Fn::${name}`);

// The short form !GetAtt "A.B" means ["A", "B"]; every other scalar keeps its string.
const scalarArgument = (name: string, value: string): unknown => {
  if (name !== "GetAtt") return value;
  const dot = value.indexOf(".");
  return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
};

/** CloudFormation's intrinsic-function tags, in scalar, sequence and mapping form. */
export const cloudFormationTags: Tags = ["Ref", "Condition", ...FUNCTIONS].flatMap((name) => [
  {
    tag: `!${name}`,
    resolve: (value: string) => ({ [longForm(name)]: scalarArgument(name, value) }),
  },
  {
    tag: `!${name}`,
    collection: "seq" as const,
    resolve: (value: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [longForm(name)]: value.toJSON() }),
  },
  {
    tag: `!${name}`,
    collection: "map" as const,
    resolve: (value: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [longForm(name)]: value.toJSON() }),
  },
]);

/** Parse a CloudFormation / SAM YAML template; unknown tags and YAML errors throw. */
export function parseCloudFormation(text: string): CfnTemplate {
  const document = parseDocument(text, { customTags: cloudFormationTags, strict: true, prettyErrors: true });
  // An unknown tag is only a warning to the yaml package; here it means a typo.
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0) throw new Error(problems.map((problem) => problem.message).join("\n"));
  const template = document.toJSON() as unknown;
  if (typeof template !== "object" || template === null || !("Resources" in template)) {
    throw new Error("not a CloudFormation template: no Resources");
  }
  return template as CfnTemplate;
}

export function readCloudFormation(path: string): CfnTemplate {
  return parseCloudFormation(readFileSync(path, "utf8"));
}

/** The one resource of `type`; throws when there are none or several. */
export function onlyResource(template: CfnTemplate, type: string): [string, CfnResource] {
  const found = Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

/** Follows `{ Ref: Param }` to the parameter's default; returns other values as they are. */
export function resolveDefault(template: CfnTemplate, value: unknown): unknown {
  if (typeof value === "object" && value !== null && "Ref" in value) {
    const name = (value as { Ref: unknown }).Ref;
    if (typeof name === "string" && template.Parameters?.[name]) return template.Parameters[name].Default;
  }
  return value;
}
