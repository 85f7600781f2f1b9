#!/usr/bin/env node
// Runs before `npm test`: the test backends need Java (DynamoDB Local),
// redis-server (behind the Upstash REST fixture), PostgreSQL 15 and etcd. Installs them with apt
// where it can (root on Debian/Ubuntu), else stops at once with one line
// saying what to install.
import { execFileSync, spawnSync } from "node:child_process";

const needs = [
  { command: "java", args: ["-version"], apt: "default-jre-headless", what: "Java 17+ (for DynamoDB Local)" },
  { command: "redis-server", args: ["--version"], apt: "redis-server", what: "redis-server 7 (for the Upstash tests)" },
  {
    command: "/usr/lib/postgresql/15/bin/initdb",
    args: ["--version"],
    apt: "postgresql",
    what: "PostgreSQL 15 (for the PostgreSQL tests)",
  },
  { command: "etcd", args: ["--version"], apt: "etcd-server", what: "etcd 3.4 (for the etcd tests)" },
];

const has = (command, args) => spawnSync(command, args, { stdio: "ignore" }).status === 0;
const missing = needs.filter((need) => !has(need.command, need.args));
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (isRoot && has("apt-get", ["--version"])) {
  const packages = missing.map((need) => need.apt);
  console.log(`edgelock tests: installing ${packages.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: "inherit", env });
  const still = missing.filter((need) => !has(need.command, need.args));
  if (still.length === 0) process.exit(0);
  missing.splice(0, missing.length, ...still);
}
console.error(
  `edgelock tests need ${missing.map((need) => need.what).join(" and ")}: install ${missing.map((need) => need.apt).join(" ")} (or your platform's equivalent) and run again.`,
);
process.exit(1);
