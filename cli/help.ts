import { EDGELOCK_BACKEND, EDGELOCK_DYNAMODB_TABLE } from "../service/env.js";
import { EDGELOCK_SERVICE_TOKEN, EDGELOCK_SERVICE_URL } from "./backend.js";
import { EXIT } from "./exit-codes.js";

export const HELP = `edgelock: distributed locks from the command line

Usage:
  edgelock run <key> [--ttl 60s] [--wait 10s] [--owner TEXT] [--kill-after 10s] -- <command> [args…]
      Take the lock, run the command with the lease extended while it runs,
      release when it exits, and exit with its code. The command gets
      EDGELOCK_FENCE (the fencing token) and EDGELOCK_KEY. SIGINT and SIGTERM
      are forwarded to it. If the lease is lost, the command gets SIGTERM
      (SIGKILL after --kill-after) and edgelock exits ${EXIT.lost}.
  edgelock inspect <key>                      Who holds the key (fence, expiry, owner).
  edgelock acquire <key> [--ttl 60s] [--wait 0] [--owner TEXT]
      Take the lock and print its fence and token (for scripts; release it later).
  edgelock extend <key> --token TOKEN [--ttl 60s]   Extend a lease taken by acquire.
  edgelock release <key> --token TOKEN        Release a lease taken by acquire.
  edgelock break <key> [--fence N]            Free the lock without its token (its holder is known
                                              dead); with --fence, only if held under that fence.

Semaphores (at most N holders of a key at once; every holder must give the same --limit):
  edgelock sem run <key> --limit N [--ttl 60s] [--wait 10s] [--owner TEXT] [--kill-after 10s] -- <command> [args…]
      As run, holding one permit: EDGELOCK_FENCE is the permit's fence, EDGELOCK_LIMIT the limit;
      all N permits held within --wait: exit ${EXIT.held}; the permit lost: exit ${EXIT.lost}.
  edgelock sem inspect <key> [--limit N]      The live permits (fence, expiry, owner), never tokens.
  edgelock sem acquire <key> --limit N [--ttl 60s] [--wait 0] [--owner TEXT]
      Take a permit and print its fence and token.
  edgelock sem extend <key> --token TOKEN [--ttl 60s]   Extend a permit taken by sem acquire.
  edgelock sem release <key> --token TOKEN    Release a permit taken by sem acquire.

Leader election (the leader holds the key's lock; its term is the lock's fence):
  edgelock elect run <key> [--id TEXT] [--ttl 60s] [--wait 5m] [--kill-after 10s] -- <command> [args…]
      Campaign (until elected, or for --wait: exit ${EXIT.held}), then run the command while leader
      with EDGELOCK_TERM (= EDGELOCK_FENCE) and EDGELOCK_IDENTITY; resign when it exits. If
      leadership is lost, the command gets SIGTERM and edgelock exits ${EXIT.lost}.
      --id defaults to "<host> pid <pid>".
  edgelock elect leader <key>                 Who leads: identity, term, since when.
  edgelock elect observe <key> [--interval 1s]
      Print the leader, then each change (a JSON line each with --json), until SIGINT/SIGTERM (exit 0).

Options:
  --json            Machine-readable output: one JSON object per line.
  -v, --verbose     run, sem run, elect run: report acquire (election) and release on stderr.
  --namespace TEXT  Prefix of every key (as createLocker's namespace). Default: none.
  --url URL         A deployed edgelock lock service (or ${EDGELOCK_SERVICE_URL}).
  --token TOKEN     Its bearer token (or ${EDGELOCK_SERVICE_TOKEN}); for release and extend,
                    --token is the lease's token and the service's is --service-token.
  --service-token TOKEN   The lock service's bearer token, for any command.
  -h, --help        This help.
Durations: 1500ms, 30s, 1.5s, 5m, 1h (a unit is required; 0 needs none).

Backend, without --url: the same environment variables as the lock service:
  ${EDGELOCK_BACKEND}=upstash      UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN
  ${EDGELOCK_BACKEND}=dynamodb     ${EDGELOCK_DYNAMODB_TABLE}, EDGELOCK_DYNAMODB_ENDPOINT,
                              AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
  ${EDGELOCK_BACKEND}=azure-blob   EDGELOCK_AZURE_CONNECTION_STRING, EDGELOCK_AZURE_CONTAINER
  ${EDGELOCK_BACKEND}=postgres     EDGELOCK_POSTGRES_URL, EDGELOCK_POSTGRES_TABLE (over neon() HTTP)
  ${EDGELOCK_BACKEND}=etcd         EDGELOCK_ETCD_ENDPOINT, EDGELOCK_ETCD_USERNAME, EDGELOCK_ETCD_PASSWORD
  (memory is refused: a lock inside one process protects nothing between processes)

Exit codes:
  ${EXIT.ok}    done (run: the command's own code; 128+N when signal N ended it)
  ${EXIT.notHeld}    break: nothing held; release/extend: the token does not hold the key (or permit)
  ${EXIT.usage}   bad command line
  ${EXIT.backend}   backend unavailable or refused the request
  ${EXIT.held}   lock held (sem: all permits held; elect: not elected) within --wait: nothing ran
  ${EXIT.lost}   run: the lease (permit, leadership) was lost while the command ran
  ${EXIT.cannotExecute}  run: command not executable
  ${EXIT.notFound}  run: command not found
`;
