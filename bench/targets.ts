/**
 * Which backends the bench runs, in order, and which rows are compared as
 * edgelock / peer pairs.
 */
import { azureBlob, type Backend, durableObject, dynamodb, etcd, memory, postgres, upstash } from "./backends.js";
import type { PeerPair } from "./report.js";

export const BACKENDS: readonly Backend[] = [memory, upstash, dynamodb, azureBlob, postgres, etcd, durableObject];

/** The row whose hand-off rate is the in-process ceiling (no I/O: what the workers' own work and the client allow). */
export const CEILING = "edgelock memory";

export const PEER_PAIRS: readonly PeerPair[] = [
  { edgelock: "edgelock upstash", peer: "@upstash/lock 0.2.1" },
  { edgelock: "edgelock dynamodb", peer: "@verrou/core 0.5.2" },
];
