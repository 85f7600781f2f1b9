// Types of hcl2-parser (an HCL2 → JSON converter built from HashiCorp's Go
// parser): its own declarations type everything `any`.
declare module "hcl2-parser" {
  /** `[json, null]` on success, `[null, error]` on a syntax error. */
  export function parseToObject(input: string): [unknown, unknown];
  export function parseToString(input: string): string;
}
