variable "name" {
  description = "Bucket name (global in S3: include the account or environment)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption."
  type        = string
}

variable "object_lock_days" {
  description = "Default retention in COMPLIANCE mode, in days (null: no Object Lock)."
  type        = number
  default     = null
}

variable "expire_days" {
  description = "Expire current objects after so many days (null: never)."
  type        = number
  default     = null
}

variable "expire_prefixes" {
  description = "Key prefix => days after which objects under it expire (the retention classes)."
  type        = map(number)
  default     = {}
}

variable "noncurrent_days" {
  description = "Days a replaced or deleted object version is kept."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let terraform destroy a non-empty bucket (never an Object Lock bucket). Throwaway environments only."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags on every resource (team, dag, cost-center at least)."
  type        = map(string)
}
