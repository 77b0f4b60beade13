output "bucket_names" {
  description = "Bucket name per role (object-store, audit-anchors, mlflow-artifacts, logs)."
  value = {
    object-store     = module.object_store.name
    audit-anchors    = module.audit_anchors.name
    mlflow-artifacts = module.mlflow_artifacts.name
    logs             = module.logs.name
  }
}

output "role_arns" {
  description = "IRSA role per component: annotate the service accounts in helm/values-production.yaml."
  value       = module.irsa.role_arns
}

output "db_endpoint" {
  description = "RDS endpoint (host:port)."
  value       = module.rds.endpoint
}

output "db_master_user_secret_arn" {
  description = "Secret with the RDS master password (managed by RDS)."
  value       = module.rds.master_user_secret_arn
}

output "connection_secret_arns" {
  description = "Secrets Manager entry per Airflow connection: put their values after the first apply."
  value       = module.secrets.connection_secret_arns
}

output "kms_key_arns" {
  description = "KMS key per purpose."
  value       = module.kms.key_arns
}
