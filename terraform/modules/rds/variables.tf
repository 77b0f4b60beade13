variable "identifier" {
  description = "RDS instance identifier."
  type        = string
}

variable "engine_major_version" {
  description = "PostgreSQL major version (16 or newer)."
  type        = number
  default     = 16
  validation {
    condition     = var.engine_major_version >= 16
    error_message = "The platform needs PostgreSQL 16 or newer."
  }
}

variable "engine_version" {
  description = "Full engine version, e.g. 16.6."
  type        = string
  default     = "16.6"
}

variable "instance_class" {
  description = "Instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage_gb" {
  description = "Initial storage in GB."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GB."
  type        = number
  default     = 500
}

variable "multi_az" {
  description = "A standby in a second availability zone (production: true)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups and point-in-time recovery."
  type        = number
  default     = 14
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
  default     = true
}

variable "final_snapshot" {
  description = "Take a final snapshot when the instance is deleted."
  type        = bool
  default     = true
}

variable "performance_insights" {
  description = "Performance Insights, encrypted with the data key."
  type        = bool
  default     = true
}

variable "monitoring_role_arn" {
  description = "Role for enhanced monitoring (null: off)."
  type        = string
  default     = null
}

variable "log_min_duration_ms" {
  description = "Log statements slower than this (ms)."
  type        = number
  default     = 1000
}

variable "kms_key_arn" {
  description = "KMS key for storage and Performance Insights."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key for the master password's secret."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (empty: the default VPC's)."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups allowing the cluster's nodes on 5432."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags on every resource (team, dag, cost-center at least)."
  type        = map(string)
}
