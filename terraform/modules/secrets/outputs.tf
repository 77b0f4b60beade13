output "connection_secret_arns" {
  description = "Secret ARN per Airflow connection id."
  value       = { for id, secret in aws_secretsmanager_secret.connection : id => secret.arn }
}

output "connection_secret_arn_patterns" {
  description = "ARN pattern per connection id (the six random characters AWS appends as ??????), known when planning: for IAM policies."
  value = {
    for id, _ in var.connections :
    id => "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:${var.connections_prefix}/${id}-??????"
  }
}
