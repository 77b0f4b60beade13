variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Environment name, part of every resource name."
  type        = string
  default     = "dev"
}

variable "name_prefix" {
  description = "Prefix of every name; bucket names are global, so make it unique to the account."
  type        = string
  default     = "scrollintel-dev"
}

variable "team" {
  description = "Owning team (tag team), as in governance/teams.yaml."
  type        = string
  default     = "data-platform"
}

variable "cost_center" {
  description = "Cost center the AWS bill is attributed to (tag cost-center)."
  type        = string
  default     = "cc-data-platform"
}

variable "namespace" {
  description = "Kubernetes namespace of the Airflow release."
  type        = string
  default     = "scrollintel"
}

variable "oidc_issuer_url" {
  description = "The EKS cluster's OIDC issuer URL (aws eks describe-cluster --query cluster.identity.oidc.issuer)."
  type        = string
  default     = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
}

variable "create_oidc_provider" {
  description = "Create the IAM OIDC provider for the cluster (false when eksctl or the EKS module made it)."
  type        = bool
  default     = true
}

variable "db_multi_az" {
  description = "RDS standby in a second zone (dev: false, production: true)."
  type        = bool
  default     = false
}

variable "db_subnet_ids" {
  description = "Private subnets for RDS (empty: the default VPC's)."
  type        = list(string)
  default     = []
}

variable "db_security_group_ids" {
  description = "Security groups allowing the cluster's nodes on 5432."
  type        = list(string)
  default     = []
}

variable "throwaway" {
  description = "A throwaway environment: no deletion protection, no final snapshot, secrets deleted at once, non-empty buckets destroyable (never the Object Lock bucket)."
  type        = bool
  default     = false
}
