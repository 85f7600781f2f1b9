import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DYNAMODB_DEFAULT_TABLE,
  DYNAMODB_PARTITION_KEY,
  DYNAMODB_TTL_ATTRIBUTE,
} from "../../adapters/dynamodb/index.js";
import {
  EDGELOCK_ADMIN_TOKENS,
  EDGELOCK_API_TOKENS,
  EDGELOCK_BASE_PATH,
  EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS,
  EDGELOCK_DYNAMODB_TABLE,
  EDGELOCK_LOG_FORMAT,
  EDGELOCK_MAX_KEY_BYTES,
  EDGELOCK_MAX_WAIT_MS,
} from "../../service/env.js";
import {
  type CfnResource,
  type CfnTemplate,
  onlyResource,
  readCloudFormation,
  resolveDefault,
} from "./support/cloudformation.js";
import {
  envNamesReadBy,
  KNOWN_ENV_NAMES,
  localImportClosure,
  ROOT,
  readSource,
  SERVICE_DEFAULTS_KEPT,
} from "./support/source.js";

const LAMBDA_ENTRY = "service/platforms/lambda.ts";
const full = readCloudFormation(join(ROOT, "infra/aws/template.yaml"));
const tableOnly = readCloudFormation(join(ROOT, "infra/aws/table-only.yaml"));

/** DynamoDB commands that touch items, and the IAM action each needs. Table administration is not among them. */
const ITEM_COMMANDS = new Set([
  "GetItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "Query",
  "Scan",
  "BatchGetItem",
  "BatchWriteItem",
]);

/** Every `new XxxCommand(` in the adapter's sources (not its tests). */
function commandsUsedByAdapter(): Set<string> {
  const dir = join(ROOT, "adapters/dynamodb");
  const sources = readdirSync(dir)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
    .map((file) => readSource(`adapters/dynamodb/${file}`));
  const commands = new Set<string>();
  // Code only: a JSDoc example of the user's own TransactWriteItems (fenced-write.ts) is not a call the adapter makes.
  const code = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  for (const source of sources)
    for (const match of code(source).matchAll(/\bnew\s+(\w+)Command\s*\(/g)) commands.add(match[1] ?? "");
  return commands;
}

const statementsOf = (policies: unknown): Array<Record<string, unknown>> =>
  (Array.isArray(policies) ? policies : [policies]).flatMap((policy) => {
    const statement = (policy as { Statement?: unknown }).Statement;
    if (statement === undefined) throw new Error(`policy is not an inline statement list: ${JSON.stringify(policy)}`);
    return (Array.isArray(statement) ? statement : [statement]) as Array<Record<string, unknown>>;
  });

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

function expectLockTable(template: CfnTemplate): void {
  const [, table] = onlyResource(template, "AWS::DynamoDB::Table");
  const p = table.Properties ?? {};
  expect(resolveDefault(template, p.TableName)).toBe(DYNAMODB_DEFAULT_TABLE);
  expect(p.KeySchema).toEqual([{ AttributeName: DYNAMODB_PARTITION_KEY, KeyType: "HASH" }]);
  // Only the key is declared: DynamoDB rejects unused attribute definitions.
  expect(p.AttributeDefinitions).toEqual([{ AttributeName: DYNAMODB_PARTITION_KEY, AttributeType: "S" }]);
  expect(p.TimeToLiveSpecification).toEqual({ AttributeName: DYNAMODB_TTL_ATTRIBUTE, Enabled: true });
  expect(p.BillingMode).toBe("PAY_PER_REQUEST");
  expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  expect(table.DeletionPolicy).toBe("Retain");
}

function expectItemOnlyPolicy(statements: Array<Record<string, unknown>>, tableLogicalId: string): void {
  const used = commandsUsedByAdapter();
  const unknownTransactional = [...used].filter((command) => command.startsWith("Transact"));
  // IAM has no Transact* actions: it checks the actions inside. Extend ITEM_COMMANDS's mapping before using them.
  expect(unknownTransactional).toEqual([]);
  const needed = [...used].filter((command) => ITEM_COMMANDS.has(command)).map((command) => `dynamodb:${command}`);
  expect(needed.length).toBeGreaterThan(0);

  const granted = statements.flatMap((statement) => {
    expect(statement.Effect).toBe("Allow");
    expect(asArray(statement.Resource)).toEqual([{ "Fn::GetAtt": [tableLogicalId, "Arn"] }]);
    return asArray(statement.Action);
  });
  expect(new Set(granted)).toEqual(new Set(needed));
  expect(granted).toHaveLength(needed.length);
}

describe("infra/aws/template.yaml (SAM: table + lock service)", () => {
  it("is a SAM template", () => {
    expect(full.Transform).toBe("AWS::Serverless-2016-10-31");
  });

  it("declares the lock table the DynamoDB adapter expects", () => {
    expectLockTable(full);
  });

  describe("the lock service function", () => {
    const [functionId, fn] = onlyResource(full, "AWS::Serverless::Function") as [string, CfnResource];
    const props = fn.Properties ?? {};
    const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;

    it("runs on a current Node runtime behind a Function URL", () => {
      expect(props.Runtime).toBe("nodejs22.x");
      expect(props.FunctionUrlConfig).toMatchObject({ AuthType: "NONE" });
      expect(full.Outputs?.ServiceUrl?.Value).toEqual({ "Fn::GetAtt": [`${functionId}Url`, "FunctionUrl"] });
      expect(full.Outputs?.TableName?.Value).toEqual({ Ref: onlyResource(full, "AWS::DynamoDB::Table")[0] });
    });

    it("also lets the URL invoke the function (public URLs need both permissions)", () => {
      const [, permission] = onlyResource(full, "AWS::Lambda::Permission");
      expect(permission.Properties).toEqual({
        Action: "lambda:InvokeFunction",
        FunctionName: { Ref: functionId },
        Principal: "*",
        InvokedViaFunctionUrl: true,
      });
    });

    it("may perform exactly the item operations the adapter sends, on the lock table only", () => {
      expectItemOnlyPolicy(statementsOf(props.Policies), onlyResource(full, "AWS::DynamoDB::Table")[0]);
    });

    it("sets only environment variables the service knows", () => {
      for (const name of Object.keys(variables)) expect(KNOWN_ENV_NAMES).toContain(name);
    });

    it("points the service at the lock table and takes the API tokens from Secrets Manager", () => {
      const [tableId] = onlyResource(full, "AWS::DynamoDB::Table");
      expect(variables[EDGELOCK_DYNAMODB_TABLE]).toEqual({ Ref: tableId });
      const tokens = JSON.stringify(variables[EDGELOCK_API_TOKENS]);
      expect(tokens).toContain("{{resolve:secretsmanager:");
      expect(tokens).not.toMatch(/resolve:ssm:/);
    });

    it("times out only after the longest server-side wait it allows", () => {
      const maxWait = Number(resolveDefault(full, variables[EDGELOCK_MAX_WAIT_MS]));
      const maxWaitCap = Number(full.Parameters?.MaxWaitMs?.MaxValue);
      expect(maxWait).toBeLessThanOrEqual(maxWaitCap);
      expect(Number(props.Timeout) * 1000).toBeGreaterThanOrEqual(maxWaitCap + 5_000);
    });

    it("sets every variable the Lambda entry reads, except those deliberately left unset", () => {
      expect(existsSync(join(ROOT, LAMBDA_ENTRY)), `${LAMBDA_ENTRY} must exist`).toBe(true);
      const read = envNamesReadBy(LAMBDA_ENTRY);
      // Only for local testing against DynamoDB Local; the region's endpoint is right in AWS.
      // A local-only endpoint override; the base path stays "" (a Function URL serves at the root);
      // key bytes stay at the v1 default (256); the skew margin at the adapter's default (1 s).
      const unsetOnPurpose = new Set([
        "EDGELOCK_DYNAMODB_ENDPOINT",
        EDGELOCK_BASE_PATH,
        EDGELOCK_MAX_KEY_BYTES,
        EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS,
        // The backend time limit and the waiter caps keep their defaults.
        ...SERVICE_DEFAULTS_KEPT,
        // Opt-in: breaking locks over HTTP needs admin tokens an operator adds; logs stay text unless asked.
        EDGELOCK_ADMIN_TOKENS,
        EDGELOCK_LOG_FORMAT,
      ]);
      expect(read).toContain(EDGELOCK_API_TOKENS);
      expect(read).toContain(EDGELOCK_DYNAMODB_TABLE);
      for (const name of read) if (!unsetOnPurpose.has(name)) expect(Object.keys(variables)).toContain(name);
      for (const name of Object.keys(variables))
        expect(read, `${name} is set but ${LAMBDA_ENTRY} never reads it`).toContain(name);
    });

    it("does not create tables at run time (the policy grants no table administration)", () => {
      const sources = localImportClosure(LAMBDA_ENTRY).map(readSource).join("\n");
      expect(sources).not.toMatch(/\bcreateLockTable\b/);
    });
  });
});

describe("infra/aws/table-only.yaml (table for in-process use)", () => {
  it("is plain CloudFormation (no SAM transform needed)", () => {
    expect(tableOnly.Transform).toBeUndefined();
  });

  it("declares the same lock table", () => {
    expectLockTable(tableOnly);
    expect(onlyResource(tableOnly, "AWS::DynamoDB::Table")[1]).toEqual(onlyResource(full, "AWS::DynamoDB::Table")[1]);
  });

  it("offers a managed policy with exactly the adapter's item operations on that table", () => {
    const [, policy] = onlyResource(tableOnly, "AWS::IAM::ManagedPolicy");
    const document = policy.Properties?.PolicyDocument;
    expectItemOnlyPolicy(statementsOf(document), onlyResource(tableOnly, "AWS::DynamoDB::Table")[0]);
  });
});
