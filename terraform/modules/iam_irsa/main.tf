# IAM roles for Kubernetes service accounts (IRSA): one role per component, each trusted only by
# its own service account through the cluster's OIDC provider, each allowed only what that
# component does. No wildcard actions; resources are named buckets, prefixes, secrets and keys.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  issuer = replace(var.oidc_issuer_url, "https://", "")
}

data "aws_iam_policy_document" "trust" {
  for_each = var.roles
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${each.value.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "permissions" {
  for_each = var.roles

  dynamic "statement" {
    for_each = length(each.value.read_write_prefixes) > 0 ? [1] : []
    content {
      sid       = "ReadWriteObjects"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
      resources = [for p in each.value.read_write_prefixes : "${p}*"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.read_prefixes) > 0 ? [1] : []
    content {
      sid       = "ReadObjects"
      actions   = ["s3:GetObject"]
      resources = [for p in each.value.read_prefixes : "${p}*"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.write_once_prefixes) > 0 ? [1] : []
    content {
      # The anchor writer adds locked objects and reads them back; it cannot delete them, and
      # cannot shorten or lift a retention (no s3:BypassGovernanceRetention, no DeleteObject).
      sid       = "WriteOnceObjects"
      actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "s3:GetObjectRetention"]
      resources = [for p in each.value.write_once_prefixes : "${p}*"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.list_buckets) > 0 ? [1] : []
    content {
      sid       = "ListBuckets"
      actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketObjectLockConfiguration"]
      resources = each.value.list_buckets
    }
  }

  dynamic "statement" {
    for_each = length(each.value.secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadConnections"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = each.value.secret_arns
    }
  }

  # Keys are named by their aliases (known when planning, and a rotated or replaced key keeps
  # working): any key of this account, only if it carries one of the platform's aliases.
  statement {
    sid       = "UseKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:key/*"]
    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = var.kms_alias_names
    }
  }
}

resource "aws_iam_role" "this" {
  for_each             = var.roles
  name                 = "${var.name_prefix}-${each.key}"
  description          = each.value.description
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
  tags                 = merge(var.tags, { component = each.key })
}

resource "aws_iam_role_policy" "this" {
  for_each = var.roles
  name     = "${var.name_prefix}-${each.key}"
  role     = aws_iam_role.this[each.key].id
  policy   = data.aws_iam_policy_document.permissions[each.key].json
}
