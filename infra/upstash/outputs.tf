# Named like the environment variables that edgelock's service entry points
# and @upstash/redis's Redis.fromEnv() read.

output "UPSTASH_REDIS_REST_URL" {
  description = "REST URL of the lock database."
  value       = "https://${upstash_redis_database.locks.endpoint}"
}

output "UPSTASH_REDIS_REST_TOKEN" {
  description = "REST token with read and write access: the lock client needs both."
  value       = upstash_redis_database.locks.rest_token
  sensitive   = true
}

output "database_id" {
  description = "Upstash database id (for terraform import and the console)."
  value       = upstash_redis_database.locks.database_id
}
