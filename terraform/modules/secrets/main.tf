# One Secrets Manager entry per Airflow connection, under the prefix Airflow's
# SecretsManagerBackend reads (airflow/connections/<conn_id>), encrypted with the secrets key.
# Terraform creates the entries only: their values are put by the owner of each system
# (`aws secretsmanager put-secret-value`, see terraform/README.md), so no secret is ever in
# Terraform's state or in Git.

resource "aws_secretsmanager_secret" "connection" {
  for_each                = var.connections
  name                    = "${var.connections_prefix}/${each.key}"
  description             = each.value
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = merge(var.tags, { airflow-connection = each.key })
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}
