variable "upstash_email" {
  description = "Email of the Upstash account (or set TF_VAR_upstash_email)."
  type        = string
}

variable "upstash_api_key" {
  description = "Upstash management API key, from the Upstash console (or set TF_VAR_upstash_api_key)."
  type        = string
  sensitive   = true
}

variable "database_name" {
  description = "Name of the Redis database that holds the locks."
  type        = string
  default     = "edgelock-locks"
}

variable "primary_region" {
  description = "Primary region: where writes (every lock operation) go. Put it next to your compute."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = contains(["us-east-1", "us-west-1", "us-west-2", "eu-central-1", "eu-west-1", "sa-east-1", "ap-southeast-1", "ap-southeast-2"], var.primary_region)
    error_message = "primary_region must be one of Upstash's global-database regions."
  }
}

variable "read_regions" {
  description = "Read replicas. Locks never read from them (every operation is a write or must see the latest write), so the default is none."
  type        = set(string)
  default     = []
}

variable "auto_scale" {
  description = "Let Upstash move the database to a larger plan when it hits a quota, instead of refusing commands."
  type        = bool
  default     = false
}
