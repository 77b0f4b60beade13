variable "name_prefix" {
  description = "Role names are <prefix>-<component>."
  type        = string
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider."
  type        = string
}

variable "oidc_issuer_url" {
  description = "The cluster's OIDC issuer URL (https://oidc.eks.<region>.amazonaws.com/id/<id>)."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the Airflow release."
  type        = string
}

variable "roles" {
  description = <<-EOT
    Component => its service account and what it may touch. Prefixes are S3 ARNs ending in "/"
    (arn:aws:s3:::bucket/prefix/); list_buckets are bucket ARNs; secret_arns are Secrets Manager ARNs.
  EOT
  type = map(object({
    description         = string
    service_account     = string
    read_write_prefixes = optional(list(string), [])
    read_prefixes       = optional(list(string), [])
    write_once_prefixes = optional(list(string), [])
    list_buckets        = optional(list(string), [])
    secret_arns         = optional(list(string), [])
  }))
}

variable "kms_alias_names" {
  description = "Aliases (alias/...) of the keys the components decrypt and encrypt with."
  type        = list(string)
}

variable "tags" {
  description = "Tags on every resource (team, dag, cost-center at least)."
  type        = map(string)
}
