Feature: Least-privilege IAM
  No IAM policy grants a wildcard action ("*" or a whole service, "s3:*"): every component's
  role names what it may do.

  Scenario Outline: No wildcard actions in IAM policies
    Given I have <resource> defined
    When it has policy
    Then it must contain Statement
    And it must contain Action
    And its value must not match the "^([a-zA-Z0-9-]+:)?\*$" regex

    Examples:
      | resource            |
      | aws_iam_policy      |
      | aws_iam_role_policy |
