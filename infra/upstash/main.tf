# edgelock on Upstash: one Redis database for edgelock/upstash (in-process)
# or for the lock service with EDGELOCK_BACKEND=upstash. See README.md.
# Names the code relies on are checked by test/infra/upstash.test.ts.

terraform {
  required_version = ">= 1.5"

  required_providers {
    upstash = {
      source  = "upstash/upstash"
      version = "~> 2.1"
    }
  }
}

provider "upstash" {
  email   = var.upstash_email
  api_key = var.upstash_api_key
}

resource "upstash_redis_database" "locks" {
  database_name  = var.database_name
  region         = "global"
  primary_region = var.primary_region
  read_regions   = var.read_regions
  tls            = true

  # Eviction would silently delete held locks and the per-key fence counters
  # that keep fences increasing: a lock database must never evict.
  eviction = false

  # Plan upgrades happen on the Upstash side without dropping data.
  auto_scale = var.auto_scale
}
