output "key_arns" {
  description = "KMS key ARN per purpose."
  value       = { for purpose, key in aws_kms_key.this : purpose => key.arn }
}

output "alias_names" {
  description = "Alias name per purpose (alias/<prefix>-<purpose>), known when planning."
  value       = { for purpose, alias in aws_kms_alias.this : purpose => alias.name }
}

output "alias_arns" {
  description = "Alias ARN per purpose, known when planning."
  value       = { for purpose, _ in aws_kms_alias.this : purpose => "arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:alias/${var.name_prefix}-${purpose}" }
}
