/**
 * The `edgelock` command line: `run` a command under a lock, `inspect`,
 * `acquire`, `extend`, `release` and `break` locks, the same under a
 * semaphore's permit (`sem …`), and leader election (`elect …`), on the
 * backend the environment names or on a deployed lock service. Node-only.
 * See docs/cli.md.
 *
 * @module
 */
import { EdgelockError, InvalidArgumentError } from "../src/errors.js";
import { createLocker } from "../src/locker.js";
import { type Parsed, parseCommandLine, wantsHelp } from "./args.js";
import { backendFrom } from "./backend.js";
import {
  acquireCommand,
  breakCommand,
  type Context,
  extendCommand,
  inspectCommand,
  releaseCommand,
  semaphoreInspectCommand,
} from "./commands.js";
import { electLeaderCommand, electObserveCommand, electRunCommand } from "./election-commands.js";
import { EXIT } from "./exit-codes.js";
import { HELP } from "./help.js";
import { Output } from "./output.js";
import { runCommand, semaphoreRunCommand } from "./run.js";

/** Run the command line `args` (without `node` and the script); resolves to the exit code. */
export async function main(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const out = new Output({ json: args.includes("--json"), verbose: false });
  let parsed: Parsed;
  let ctx: Context;
  try {
    parsed = parseCommandLine(args);
    const adapter = await backendFrom({ url: parsed.url, token: parsed.serviceToken }, env);
    const namespace = parsed.namespace ?? "";
    const locker = createLocker({
      adapter,
      namespace,
      defaultTtlMs: Math.min(60_000, adapter.capabilities.ttl.maxMs),
      onBackgroundError: (error) => new Output({ json: parsed.json, verbose: true }).failure(error),
    });
    ctx = { locker, adapter, namespace, out: new Output({ json: parsed.json, verbose: parsed.verbose }) };
  } catch (error) {
    out.failure(error);
    if (!out.json) process.stderr.write("edgelock: see edgelock --help\n");
    return EXIT.usage;
  }
  try {
    return await dispatch(ctx, parsed);
  } catch (error) {
    ctx.out.failure(error);
    return error instanceof InvalidArgumentError ? EXIT.usage : error instanceof EdgelockError ? EXIT.backend : 1;
  } finally {
    await ctx.adapter.dispose?.();
  }
}

function dispatch(ctx: Context, parsed: Parsed): Promise<number> {
  switch (parsed.command) {
    case "run":
      return runCommand(ctx.locker, parsed, ctx.out);
    case "inspect":
      return inspectCommand(ctx, parsed);
    case "acquire":
      return acquireCommand(ctx, parsed);
    case "extend":
      return extendCommand(ctx, parsed);
    case "release":
      return releaseCommand(ctx, parsed);
    case "break":
      return breakCommand(ctx, parsed);
    case "sem run":
      return semaphoreRunCommand(ctx.locker, parsed, ctx.out);
    case "sem inspect":
      return semaphoreInspectCommand(ctx, parsed);
    case "sem acquire":
      return acquireCommand(ctx, parsed);
    case "sem extend":
      return extendCommand(ctx, parsed);
    case "sem release":
      return releaseCommand(ctx, parsed);
    case "elect run":
      return electRunCommand(ctx, parsed);
    case "elect leader":
      return electLeaderCommand(ctx, parsed);
    case "elect observe":
      return electObserveCommand(ctx, parsed);
  }
}
