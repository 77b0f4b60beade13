# The dev environment: every module, composed. Retention days for the buckets come from
# governance/retention.yaml, so the lifecycle rules and the platform's retention policy are
# one source.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Tags the cost rollup attributes AWS spend by (team, dag, cost-center); infrastructure shared
  # by every DAG carries dag = "platform".
  tags = {
    team        = var.team
    dag         = "platform"
    cost-center = var.cost_center
    environment = var.environment
    managed-by  = "terraform"
  }

  retention = yamldecode(file("${path.module}/../../../governance/retention.yaml"))
  # ISO 8601 duration -> days, rounded up so S3 never expires anything before the policy does:
  # a year is 365 days plus one per started four years (7 years = 2557), a month 31 days.
  retention_days = {
    for c in local.retention.classes : c.id => sum([
      for part in regexall("([0-9]+)([YMWD])", c.duration) :
      part[1] == "Y" ? tonumber(part[0]) * 365 + ceil(tonumber(part[0]) / 4) :
      part[1] == "M" ? tonumber(part[0]) * 31 :
      part[1] == "W" ? tonumber(part[0]) * 7 : tonumber(part[0])
    ])
  }

  connections = {
    postgres_warehouse     = "Warehouse PostgreSQL (raw, staging, marts, governance schemas)"
    slack_api_default      = "Slack bot token (password) and the signing secret (extra signing_secret) of the approvals app"
    audit_signing          = "Ed25519 key signing the audit ledger's tree heads (password)"
    airflow_api            = "Service user the audit import reads Airflow's audit log with (REST API)"
    airflow_cost_api       = "Service user the cost rollup reads DAG runs and task instances with (REST API)"
    warehouse_masking_salt = "Salt of the staging models' personal-data hashes (password)"
    mlflow_default         = "MLflow tracking server"
    scrollintel_lineage    = "Token of the platform's lineage store"
  }
}

module "kms" {
  source                  = "../../modules/kms"
  name_prefix             = var.name_prefix
  deletion_window_in_days = var.throwaway ? 7 : 30
  tags                    = local.tags
}

module "object_store" {
  source      = "../../modules/s3_bucket"
  name        = "${var.name_prefix}-object-store"
  kms_key_arn = module.kms.key_arns["data"]
  # retention actions that archive write under archive/<class>/
  expire_prefixes = {
    for c in local.retention.classes : "archive/${c.id}/" => local.retention_days[c.id] if c.action == "archive"
  }
  force_destroy = var.throwaway
  tags          = local.tags
}

module "audit_anchors" {
  source           = "../../modules/s3_bucket"
  name             = "${var.name_prefix}-audit-anchors"
  kms_key_arn      = module.kms.key_arns["data"]
  object_lock_days = local.retention_days["audit-evidence"]
  noncurrent_days  = local.retention_days["audit-evidence"]
  tags             = local.tags
}

module "mlflow_artifacts" {
  source        = "../../modules/s3_bucket"
  name          = "${var.name_prefix}-mlflow-artifacts"
  kms_key_arn   = module.kms.key_arns["data"]
  force_destroy = var.throwaway
  tags          = local.tags
}

module "logs" {
  source        = "../../modules/s3_bucket"
  name          = "${var.name_prefix}-logs"
  kms_key_arn   = module.kms.key_arns["data"]
  expire_days   = local.retention_days["operational"]
  force_destroy = var.throwaway
  tags          = local.tags
}

module "rds" {
  source              = "../../modules/rds"
  identifier          = "${var.name_prefix}-postgres"
  multi_az            = var.db_multi_az
  kms_key_arn         = module.kms.key_arns["data"]
  secrets_kms_key_arn = module.kms.key_arns["secrets"]
  subnet_ids          = var.db_subnet_ids
  security_group_ids  = var.db_security_group_ids
  deletion_protection = !var.throwaway
  final_snapshot      = !var.throwaway
  tags                = local.tags
}

module "secrets" {
  source                  = "../../modules/secrets"
  connections             = local.connections
  kms_key_arn             = module.kms.alias_arns["secrets"]
  recovery_window_in_days = var.throwaway ? 0 : 30
  tags                    = local.tags
}

resource "aws_iam_openid_connect_provider" "cluster" {
  count           = var.create_oidc_provider ? 1 : 0
  url             = var.oidc_issuer_url
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
  tags            = local.tags
}

locals {
  # The provider's ARN from its URL, a configured value: known when planning (so the trust
  # policies can be checked on the plan), and still ordered after the provider is created.
  oidc_url          = var.create_oidc_provider ? aws_iam_openid_connect_provider.cluster[0].url : var.oidc_issuer_url
  oidc_provider_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${replace(local.oidc_url, "https://", "")}"
  bucket_arn = {
    object-store     = module.object_store.arn
    audit-anchors    = module.audit_anchors.arn
    mlflow-artifacts = module.mlflow_artifacts.arn
    logs             = module.logs.arn
  }
  secret_arns = module.secrets.connection_secret_arn_patterns
}

module "irsa" {
  source            = "../../modules/iam_irsa"
  name_prefix       = var.name_prefix
  oidc_provider_arn = local.oidc_provider_arn
  oidc_issuer_url   = var.oidc_issuer_url
  namespace         = var.namespace
  kms_alias_names   = values(module.kms.alias_names)
  roles = {
    # scheduler, dag-processor, triggerer and the Celery/Kubernetes workers run tasks: they
    # read every connection and use the object store, MLflow's artifacts and the task logs.
    airflow-worker = {
      description     = "Airflow scheduler, dag-processor, triggerer and workers (tasks)"
      service_account = "scrollintel-airflow-worker"
      read_write_prefixes = [
        "${local.bucket_arn["object-store"]}/",
        "${local.bucket_arn["mlflow-artifacts"]}/",
        "${local.bucket_arn["logs"]}/",
      ]
      read_prefixes = ["${local.bucket_arn["audit-anchors"]}/"]
      list_buckets  = [local.bucket_arn["object-store"], local.bucket_arn["mlflow-artifacts"], local.bucket_arn["logs"], local.bucket_arn["audit-anchors"]]
      secret_arns   = values(local.secret_arns)
    }
    # the api-server shows task logs and answers Slack's signed callbacks
    airflow-api-server = {
      description     = "Airflow api-server (UI, REST API, the governance plugin)"
      service_account = "scrollintel-airflow-api-server"
      read_prefixes   = ["${local.bucket_arn["logs"]}/", "${local.bucket_arn["audit-anchors"]}/"]
      list_buckets    = [local.bucket_arn["logs"], local.bucket_arn["audit-anchors"]]
      secret_arns = [
        local.secret_arns["postgres_warehouse"],
        local.secret_arns["slack_api_default"],
        local.secret_arns["airflow_api"],
      ]
    }
    # the audit anchorer only adds signed tree heads to the Object Lock bucket
    audit-anchor-writer = {
      description         = "Audit anchorer: writes signed tree heads, locked in COMPLIANCE mode"
      service_account     = "scrollintel-audit-anchorer"
      write_once_prefixes = ["${local.bucket_arn["audit-anchors"]}/audit-anchors/"]
      list_buckets        = [local.bucket_arn["audit-anchors"]]
      secret_arns = [
        local.secret_arns["postgres_warehouse"],
        local.secret_arns["audit_signing"],
        local.secret_arns["slack_api_default"],
      ]
    }
    mlflow-server = {
      description         = "MLflow tracking server (artifacts)"
      service_account     = "scrollintel-mlflow"
      read_write_prefixes = ["${local.bucket_arn["mlflow-artifacts"]}/"]
      list_buckets        = [local.bucket_arn["mlflow-artifacts"]]
    }
  }
  tags = local.tags
}
