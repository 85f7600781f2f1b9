/**
 * Backends configured from environment variables, one function each so an
 * entry point bundles only the SDK it uses (the DynamoDB one pulls in the
 * AWS SDK; the Azure Blob one is plain fetch).
 *
 * @module
 */
import { InvalidArgumentError } from "../../src/errors.js";
import type { ServiceEnv } from "../options-from-env.js";

/** A required, non-empty string variable. */
export function required(env: ServiceEnv, name: string, why: string): string {
  const value = env[name];
  if (typeof value !== "string" || value === "") throw new InvalidArgumentError(`${name} is required ${why}`);
  return value;
}

/** An optional whole-number variable. */
export function wholeNumber(env: ServiceEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value.trim())) {
    throw new InvalidArgumentError(`${name} must be a whole number`);
  }
  return Number(value);
}
