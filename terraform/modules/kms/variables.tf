variable "name_prefix" {
  description = "Prefix of the key aliases (alias/<prefix>-<purpose>)."
  type        = string
}

variable "purposes" {
  description = "One key per purpose."
  type        = list(string)
  default     = ["data", "secrets"]
}

variable "deletion_window_in_days" {
  description = "Days a deleted key can still be recovered."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags on every resource (team, dag, cost-center at least)."
  type        = map(string)
}
