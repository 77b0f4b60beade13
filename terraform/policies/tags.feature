Feature: Cost tags on every resource
  The cost rollup attributes AWS spend by the tags team, dag and cost-center: every resource
  that can carry tags carries all three.

  Scenario Outline: Every taggable resource has the cost tags
    Given I have resource that supports tags_all defined
    Then it must contain tags_all
    And it must contain <tag>

    Examples:
      | tag         |
      | team        |
      | dag         |
      | cost-center |
