import type { Redis } from "@upstash/redis";
import { sha1Hex } from "../../src/internal/encoding.js";
import { isNoScript, upstashFailure } from "./failures.js";

/** The slice of an `@upstash/redis` client the adapter uses. */
export type UpstashScriptClient = Pick<Redis, "evalsha" | "eval">;

/**
 * A Lua script run by SHA (`EVALSHA`), falling back to `EVAL` only when Redis
 * answers `NOSCRIPT`, as `@upstash/redis`'s `createScript` does. After the
 * first `EVAL` Redis has the script cached, so each call costs one request;
 * a `NOSCRIPT` means nothing ran, so the fallback is never a second
 * application of the same call.
 */
export class LuaScript {
  readonly source: string;
  readonly #name: string;
  #sha: Promise<string> | undefined;

  constructor(name: string, source: string) {
    this.#name = name;
    this.source = source;
  }

  /** Run against `client`; every failure comes out as an edgelock error. */
  async run(client: UpstashScriptClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      const sha = await this.sha();
      try {
        return await client.evalsha(sha, keys, args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return await client.eval(this.source, keys, args);
      }
    } catch (error) {
      throw upstashFailure(error, `the ${this.#name} script`);
    }
  }

  /** Hex SHA-1 of the source, as Redis names cached scripts; Web Crypto, so it runs everywhere. */
  sha(): Promise<string> {
    this.#sha ??= sha1Hex(this.source);
    return this.#sha;
  }
}
