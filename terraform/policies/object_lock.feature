Feature: Object Lock on the audit anchor bucket
  Signed tree heads of the audit ledger go to a bucket with Object Lock in COMPLIANCE mode, so
  nobody, not even the account root, can delete or overwrite them before their retention ends.

  Scenario: The anchor bucket has Object Lock enabled
    Given I have aws_s3_bucket defined
    When its bucket is ".*-audit-anchors" regex
    Then it must contain object_lock_enabled
    And its value must be true

  Scenario: The anchor bucket's default retention is in COMPLIANCE mode
    Given I have aws_s3_bucket defined
    When its bucket is ".*-audit-anchors" regex
    Then it must contain aws_s3_bucket_object_lock_configuration

  Scenario: Object Lock retention is always COMPLIANCE mode
    Given I have aws_s3_bucket_object_lock_configuration defined
    Then it must contain rule
    And it must contain default_retention
    And it must contain mode
    And its value must be COMPLIANCE
