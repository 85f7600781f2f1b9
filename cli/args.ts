/**
 * The command line, parsed per command with `node:util`'s `parseArgs`.
 *
 * @module
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../src/errors.js";
import { parseDuration } from "./durations.js";

export const COMMANDS = [
  "run",
  "inspect",
  "acquire",
  "extend",
  "release",
  "break",
  "sem run",
  "sem inspect",
  "sem acquire",
  "sem extend",
  "sem release",
  "elect run",
  "elect leader",
  "elect observe",
] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Command groups, as the library has them: `locker.semaphore(key)`, `locker.election(key)`. */
const GROUPS = ["sem", "elect"] as const;

/** Everything a command may read; absent flags are undefined. */
export interface Parsed {
  readonly command: CommandName;
  readonly key: string;
  /** `run`, `sem run`, `elect run`: the command and its arguments, after `--`. */
  readonly argv: readonly string[];
  readonly json: boolean;
  readonly verbose: boolean;
  readonly namespace: string | undefined;
  readonly url: string | undefined;
  /** Bearer token of the lock service. */
  readonly serviceToken: string | undefined;
  /** `release`/`extend`: the lease's owner token. */
  readonly leaseToken: string | undefined;
  readonly ttlMs: number | undefined;
  readonly waitMs: number | undefined;
  readonly killAfterMs: number | undefined;
  readonly owner: string | undefined;
  readonly fence: number | undefined;
  /** `sem …`: permits allowed at once. */
  readonly limit: number | undefined;
  /** `elect run`: the identity `elect leader` shows. */
  readonly identity: string | undefined;
  /** `elect observe`: poll interval. */
  readonly intervalMs: number | undefined;
}

const COMMON = {
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  namespace: { type: "string" },
  url: { type: "string" },
  "service-token": { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const PER_COMMAND: Record<CommandName, readonly string[]> = {
  run: ["ttl", "wait", "owner", "kill-after"],
  acquire: ["ttl", "wait", "owner"],
  extend: ["ttl"],
  inspect: [],
  release: [],
  break: ["fence"],
  "sem run": ["limit", "ttl", "wait", "owner", "kill-after"],
  "sem inspect": ["limit"],
  "sem acquire": ["limit", "ttl", "wait", "owner"],
  "sem extend": ["ttl"],
  "sem release": [],
  "elect run": ["ttl", "wait", "id", "kill-after"],
  "elect leader": [],
  "elect observe": ["interval"],
};

const EXTRA = {
  ttl: { type: "string" },
  wait: { type: "string" },
  owner: { type: "string" },
  "kill-after": { type: "string" },
  fence: { type: "string" },
  limit: { type: "string" },
  id: { type: "string" },
  interval: { type: "string" },
} as const;

/** `--help` anywhere (or no command): show the help instead. */
export function wantsHelp(args: readonly string[]): boolean {
  const mine = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
  return mine.length === 0 || mine.includes("--help") || mine.includes("-h") || mine[0] === "help";
}

export function parseCommandLine(args: readonly string[]): Parsed {
  const grouped = GROUPS.includes(args[0] as (typeof GROUPS)[number]);
  if (grouped && (args[1] === undefined || args[1].startsWith("-"))) {
    const verbs = COMMANDS.filter((c) => c.startsWith(`${args[0]} `)).map((c) => c.split(" ")[1]);
    throw new InvalidArgumentError(`${args[0]} needs a subcommand: ${verbs.join(", ")}`);
  }
  const name = grouped ? `${args[0]} ${args[1]}` : args[0];
  const rest = args.slice(grouped ? 2 : 1);
  if (!COMMANDS.includes(name as CommandName)) {
    throw new InvalidArgumentError(`unknown command ${JSON.stringify(name)}: use one of ${COMMANDS.join(", ")}`);
  }
  const command = name as CommandName;
  const runs = command.endsWith("run");
  const split = rest.indexOf("--");
  const own = split === -1 ? rest : rest.slice(0, split);
  const argv = split === -1 ? [] : rest.slice(split + 1);
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { ...COMMON };
  for (const extra of PER_COMMAND[command]) options[extra] = EXTRA[extra as keyof typeof EXTRA];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: glueDashedValues(own, options), options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new InvalidArgumentError(`${command}: ${(cause as Error).message}`, { cause });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const text = (flag: string) => values[flag] as string | undefined;
  const [key, ...unexpected] = parsed.positionals;
  if (key === undefined) throw new InvalidArgumentError(`${command} needs a key: edgelock ${command} <key>`);
  if (unexpected.length > 0) {
    const hint = runs ? " (put the command after --)" : "";
    throw new InvalidArgumentError(`${command}: unexpected ${JSON.stringify(unexpected.join(" "))}${hint}`);
  }
  if (runs && argv.length === 0) {
    throw new InvalidArgumentError(
      `${command} needs a command after --: edgelock ${command} <key> -- <command> [args…]`,
    );
  }
  if (!runs && split !== -1) throw new InvalidArgumentError(`${command} takes no command after --`);
  // release and extend need the lease's token; the service's comes from --service-token there.
  const leaseTokenCommand = command.endsWith("release") || command.endsWith("extend");
  const leaseToken = leaseTokenCommand ? text("token") : undefined;
  if (leaseTokenCommand && leaseToken === undefined) {
    throw new InvalidArgumentError(`${command} needs the lease's --token (acquire prints it)`);
  }
  const duration = (flag: string) => {
    const value = text(flag);
    return value === undefined ? undefined : parseDuration(`--${flag}`, value);
  };
  const fenceText = text("fence");
  const fence = fenceText === undefined ? undefined : Number(fenceText);
  if (fenceText !== undefined && (!/^\d+$/.test(fenceText) || !Number.isSafeInteger(fence) || fence === 0)) {
    throw new InvalidArgumentError(`--fence must be a positive whole number, got ${JSON.stringify(fenceText)}`);
  }
  const limitText = text("limit");
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limitText !== undefined && (!/^\d+$/.test(limitText) || !Number.isSafeInteger(limit) || limit === 0)) {
    throw new InvalidArgumentError(`--limit must be a positive whole number, got ${JSON.stringify(limitText)}`);
  }
  // A permit's holders must agree on the limit: guessing one would be wrong.
  if (limit === undefined && (command === "sem run" || command === "sem acquire")) {
    throw new InvalidArgumentError(`${command} needs --limit N (permits allowed at once, the same for every holder)`);
  }
  const waitMs = duration("wait");
  // Campaigning gives up after --wait; 0 would give up before the first try.
  if (command === "elect run" && waitMs === 0) {
    throw new InvalidArgumentError("elect run --wait must be longer than 0 (leave it out to campaign until elected)");
  }
  const intervalMs = duration("interval");
  if (intervalMs === 0) throw new InvalidArgumentError("--interval must be longer than 0");
  return {
    command,
    key,
    argv,
    json: values.json === true,
    verbose: values.verbose === true,
    namespace: text("namespace"),
    url: text("url"),
    serviceToken: text("service-token") ?? (leaseTokenCommand ? undefined : text("token")),
    leaseToken,
    ttlMs: duration("ttl"),
    waitMs,
    killAfterMs: duration("kill-after"),
    // Who holds it, for inspect: this host and process unless --owner says otherwise.
    owner: text("owner") ?? `edgelock ${command} on ${hostname()}, pid ${process.pid}`,
    fence,
    limit,
    identity: text("id") ?? `${hostname()} pid ${process.pid}`,
    intervalMs,
  };
}

/**
 * `--name value` whose value starts with a dash, as one owner token in 64
 * does (base64url), is refused by strict `parseArgs` as ambiguous: it is
 * glued into `--name=value`, unless the value is itself one of the options
 * (`--token --json` still says the token is missing).
 */
function glueDashedValues(
  args: readonly string[],
  options: Record<string, { type: "string" | "boolean"; short?: string }>,
): string[] {
  const flags = new Set<string>();
  for (const [name, option] of Object.entries(options)) {
    flags.add(`--${name}`);
    if (option.short) flags.add(`-${option.short}`);
  }
  const glued: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    const takesValue = arg.startsWith("--") && options[arg.slice(2)]?.type === "string";
    if (takesValue && next?.startsWith("-") && !flags.has(next)) {
      glued.push(`${arg}=${next}`);
      i++;
    } else {
      glued.push(arg);
    }
  }
  return glued;
}
