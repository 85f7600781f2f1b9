import { EdgelockError } from "../src/errors.js";

/** Where a command writes: results on stdout, diagnostics on stderr; JSON lines with `--json`. */
export class Output {
  readonly json: boolean;
  readonly verbose: boolean;

  constructor(options: { json: boolean; verbose: boolean }) {
    this.json = options.json;
    this.verbose = options.verbose;
  }

  /** A command's result: one JSON object, or human lines. */
  result(value: Record<string, unknown>, human: string): void {
    process.stdout.write(this.json ? `${JSON.stringify(value)}\n` : `${human}\n`);
  }

  /** Progress of `run` on stderr (its stdout belongs to the command): with `--verbose` or `--json`. */
  progress(event: string, fields: Record<string, unknown>, human: string): void {
    if (this.json) process.stderr.write(`${JSON.stringify({ event, ...fields })}\n`);
    else if (this.verbose) process.stderr.write(`edgelock: ${human}\n`);
  }

  /** A failure or refusal, always shown. */
  problem(code: string, message: string, fields: Record<string, unknown> = {}): void {
    if (this.json) process.stderr.write(`${JSON.stringify({ error: { code, message, ...fields } })}\n`);
    else process.stderr.write(`edgelock: ${message}\n`);
  }

  /** An error thrown by a command, reported with edgelock's code. */
  failure(error: unknown): void {
    const code = error instanceof EdgelockError ? error.code : "internal";
    const message = error instanceof Error ? error.message : String(error);
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    this.problem(code, `${message}${cause}`);
  }
}
