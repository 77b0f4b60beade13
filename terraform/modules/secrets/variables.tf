variable "connections_prefix" {
  description = "Prefix Airflow's secrets backend reads connections under (connections_prefix of [secrets] backend_kwargs)."
  type        = string
  default     = "airflow/connections"
}

variable "connections" {
  description = "Airflow connection id => what it is for."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "KMS key (ARN, alias ARN or alias name) encrypting the secrets."
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored (0: delete at once, throwaway environments only)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags on every resource (team, dag, cost-center at least)."
  type        = map(string)
}
