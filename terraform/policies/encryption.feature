Feature: Encryption everywhere
  Data at rest is encrypted with the platform's customer-managed KMS keys, which rotate.

  Scenario: Every bucket encrypts with KMS by default
    Given I have aws_s3_bucket_server_side_encryption_configuration defined
    Then it must contain rule
    And it must contain apply_server_side_encryption_by_default
    And it must contain sse_algorithm
    And its value must be aws:kms

  Scenario: Every bucket has a default encryption configuration
    Given I have aws_s3_bucket defined
    Then it must contain aws_s3_bucket_server_side_encryption_configuration

  Scenario: RDS storage is encrypted
    Given I have aws_db_instance defined
    Then it must contain storage_encrypted
    And its value must be true

  Scenario: KMS keys rotate
    Given I have aws_kms_key defined
    Then it must contain enable_key_rotation
    And its value must be true

  Scenario: Secrets are encrypted with a customer-managed key
    Given I have aws_secretsmanager_secret defined
    Then it must contain kms_key_id
