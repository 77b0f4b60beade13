output "role_arns" {
  description = "Role ARN per component (annotate each service account with eks.amazonaws.com/role-arn)."
  value       = { for component, role in aws_iam_role.this : component => role.arn }
}
