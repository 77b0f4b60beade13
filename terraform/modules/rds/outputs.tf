output "endpoint" {
  description = "host:port of the instance."
  value       = aws_db_instance.this.endpoint
}

output "arn" {
  description = "Instance ARN."
  value       = aws_db_instance.this.arn
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the master password (managed by RDS)."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}
