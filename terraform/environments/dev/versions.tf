terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
  # Remote state: copy backend.tf.example to backend.tf (S3 bucket + lock table) before the
  # first apply of a shared environment; without it the state stays local.
}

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}
