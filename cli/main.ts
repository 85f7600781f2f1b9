#!/usr/bin/env node
/**
 * Entry point of the `edgelock` bin (Node-only): runs the command line and
 * exits with its code. See docs/cli.md and {@link main}.
 *
 * @module
 */
import { main } from "./program.js";

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Idle keep-alive sockets must not hold the exit back once the output is written.
process.stdout.write("", () => setTimeout(() => process.exit(code), 50).unref());
