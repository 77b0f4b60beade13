Feature: No public buckets
  Every bucket blocks public ACLs and policies, and nothing in the database tier is public.

  Scenario: Every bucket has a public access block
    Given I have aws_s3_bucket defined
    Then it must contain aws_s3_bucket_public_access_block

  Scenario Outline: Public access blocks block everything
    Given I have aws_s3_bucket_public_access_block defined
    Then it must contain <setting>
    And its value must be true

    Examples:
      | setting                 |
      | block_public_acls       |
      | block_public_policy     |
      | ignore_public_acls      |
      | restrict_public_buckets |

  Scenario: ACLs are disabled on every bucket (the bucket owner owns every object)
    Given I have aws_s3_bucket defined
    Then it must contain aws_s3_bucket_ownership_controls

  Scenario: Ownership controls enforce the bucket owner
    Given I have aws_s3_bucket_ownership_controls defined
    Then it must contain rule
    And it must contain object_ownership
    And its value must be BucketOwnerEnforced

  Scenario: RDS is not publicly accessible
    Given I have aws_db_instance defined
    Then it must contain publicly_accessible
    And its value must be false
