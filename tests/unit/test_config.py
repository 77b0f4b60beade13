"""Governance config: the repository's files are valid, and every mistake a user can make is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrollintel import settings
from scrollintel.config import (
    GovernanceError,
    check_governance,
    load_dag_policy,
    load_governance,
    load_source,
    validate_governance,
)
from scrollintel.config.duration import Duration
from scrollintel.config.fields import cron_problem
from scrollintel.exceptions import ConfigError
from scrollintel.validate import validate_command
from tests.unit.conftest import REPO_GOVERNANCE

pytestmark = pytest.mark.unit

TEAMS = "analytics, compliance, data-platform, finance, ml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    return [str(problem) for problem in validate_governance(directory)]


# --------------------------------------------------------------------------- the repository's files


def test_repository_governance_is_valid() -> None:
    report = check_governance(REPO_GOVERNANCE)
    assert [str(problem) for problem in report.problems] == []
    assert len(report.files) == 11


def test_load_governance_gives_sources_and_accessors() -> None:
    governance = load_governance(REPO_GOVERNANCE)
    assert sorted(governance.sources) == ["marketing", "shop", "stores"]
    assert governance.team_ids == frozenset(TEAMS.split(", "))

    shop = governance.source("shop")
    assert shop.type == "postgres"
    assert shop.connection_id == "postgres_shop"
    assert [table.name for table in shop.resources][:2] == ["customers", "products"]
    assert shop.resource("order_items").cursor == "order_item_id"
    assert shop.retention_class_of("payments") == "financial-records"
    assert shop.retention_class_of("customers") == "customer-data"
    assert shop.classification_overrides("products") == {"name": "none"}

    events = load_source("marketing", REPO_GOVERNANCE).resource("events")
    assert (events.cursor_param, events.next_cursor_field, events.page_size) == ("cursor", "next_cursor", 1000)
    inventory = governance.source("stores").resource("inventory")
    assert inventory.primary_key == ["snapshot_date", "store_id", "product_id"]

    assert governance.retention_class("marketing-events").duration.months == 13
    assert governance.approval_policy("model_promotion").timeout.to_timedelta() == timedelta(days=2)
    assert governance.eligible_approvers("retention_override") == ["co-officer", "co-privacy", "dp-lead"]
    assert governance.budget("ml").alert_thresholds == [0.5, 0.8, 1.0, 1.2]
    assert governance.classification.threshold_for("email") == 0.8
    assert governance.classification.threshold_for("payment_card") == 0.95


def test_shop_source_lists_every_demo_table() -> None:
    from scrollintel.demo.shop import SHOP_TABLES

    shop = load_source("shop", REPO_GOVERNANCE)
    assert tuple(table.name for table in shop.resources) == SHOP_TABLES


def test_file_globs_match_what_the_demo_writes(tmp_path: Path) -> None:
    from scrollintel.demo.files import write_store_files

    written = set(write_store_files(tmp_path, scale=0.01))
    files = load_source("stores", REPO_GOVERNANCE).files
    matched = {path for item in files for path in tmp_path.glob(item.path)}
    assert matched == written
    assert [path.suffix for path in tmp_path.glob(files[0].path)] == [".csv"]


def test_marketing_paging_fits_the_demo_api() -> None:
    from scrollintel.demo.marketing import MAX_PAGE_SIZE

    events = load_source("marketing", REPO_GOVERNANCE).resource("events")
    assert events.page_size == MAX_PAGE_SIZE


def test_classification_patterns_find_the_demo_pii_columns() -> None:
    classes = load_governance(REPO_GOVERNANCE).classification
    found = {
        column: [item.id for item in classes.classes if item.matches_column(column)]
        for column in (
            "email",
            "phone",
            "first_name",
            "last_name",
            "street_address",
            "postal_code",
            "birth_date",
            "card_number",
            "iban",
            "customer_id",
            "unit_price",
            "status",
        )
    }
    assert found == {
        "email": ["email"],
        "phone": ["phone"],
        "first_name": ["name"],
        "last_name": ["name"],
        "street_address": ["address"],
        "postal_code": ["postal_code"],
        "birth_date": ["birth_date"],
        "card_number": ["payment_card"],
        "iban": ["iban"],
        "customer_id": [],
        "unit_price": [],
        "status": [],
    }


def test_dag_policy_accessors() -> None:
    policy = load_dag_policy(REPO_GOVERNANCE)
    assert policy.unapproved_tags(["ingestion", "confidential", "adhoc"]) == ["adhoc"]
    assert policy.classification_of(["ingestion", "restricted", "internal"]) == ["internal", "restricted"]


def test_load_governance_is_cached_until_a_file_changes(gov: Path) -> None:
    first = load_governance(gov)
    assert load_governance(gov) is first
    edit(gov / "budgets.yaml", "monthly_amount: 4000", "monthly_amount: 4500")
    second = load_governance(gov)
    assert second is not first
    assert str(second.budget("data-platform").monthly_amount) == "4500"


def test_load_governance_raises_naming_every_problem(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "owner: data-platform", "owner: markting")
    edit(gov / "budgets.yaml", "monthly_amount: 300", "monthly_amount: 0")
    with pytest.raises(GovernanceError) as caught:
        load_governance(gov)
    assert isinstance(caught.value, ConfigError)
    assert str(caught.value) == (
        "2 problems in governance config:\n"
        "governance/budgets.yaml:budgets[3].monthly_amount: input should be greater than 0 (got 0)\n"
        f"governance/sources/shop.yaml:owner: unknown team 'markting' (known: {TEAMS})"
    )


def test_load_source_unknown_name() -> None:
    with pytest.raises(ConfigError, match=r"^unknown source 'shopp' \(known: marketing, shop, stores\)$"):
        load_source("shopp", REPO_GOVERNANCE)


def test_default_folder_comes_from_settings(gov: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_GOVERNANCE_DIR, str(gov))
    (gov / "roi.yaml").unlink()
    assert problems(None) == ["governance/roi.yaml: missing required file"]  # type: ignore[arg-type]


# --------------------------------------------------------------------------- file-level errors


def test_missing_file(gov: Path) -> None:
    (gov / "teams.yaml").unlink()
    assert problems(gov) == ["governance/teams.yaml: missing required file"]


def test_yaml_syntax_error_names_the_line(gov: Path) -> None:
    edit(gov / "retention.yaml", "    action: delete\n", "    action: [delete\n")
    assert problems(gov) == [
        "governance/retention.yaml:27: invalid YAML: while parsing a flow sequence: did not find expected ',' or ']'"
    ]


def test_duplicate_yaml_key_names_the_line(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "    cursor: order_item_id", "    cursor: order_item_id\n    cursor: null")
    assert problems(gov) == ["governance/sources/shop.yaml:40: invalid YAML: duplicate key 'cursor'"]


def test_empty_file_and_non_mapping(gov: Path) -> None:
    (gov / "roi.yaml").write_text("# nothing yet\n", encoding="utf-8")
    (gov / "budgets.yaml").write_text("- team: ml\n", encoding="utf-8")
    assert problems(gov) == [
        "governance/budgets.yaml: expected a mapping of keys at the top level, got a list",
        "governance/roi.yaml: file is empty (expected a mapping of keys)",
    ]


def test_yml_source_file_is_reported(gov: Path) -> None:
    (gov / "sources" / "stores.yaml").rename(gov / "sources" / "stores.yml")
    assert problems(gov) == [
        "governance/roi.yaml:values[4].applies_to.datasets[0]: unknown raw dataset 'raw.stores__inventory': "
        "no source declares it (raw.<source>__<table>)",
        "governance/sources/stores.yml: source files must end in .yaml (this one is ignored)",
    ]


# --------------------------------------------------------------------------- schema errors


def test_unknown_key_suggests_the_right_one(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "    cursor: order_item_id", "    cursro: order_item_id")
    assert problems(gov) == [
        "governance/sources/shop.yaml:tables[3].cursor: missing required key",
        "governance/sources/shop.yaml:tables[3].cursro: unknown key 'cursro' (did you mean 'cursor'?)",
    ]


def test_unknown_key_lists_allowed_keys(gov: Path) -> None:
    edit(gov / "budgets.yaml", "  - team: analytics\n", "  - team: analytics\n    owner: ml\n")
    assert problems(gov) == [
        "governance/budgets.yaml:budgets[1].owner: unknown key 'owner' "
        "(allowed: alert_thresholds, currency, monthly_amount, team)"
    ]


def test_wrong_type_shows_the_value(gov: Path) -> None:
    edit(gov / "sources" / "marketing.yaml", "page_size: 1000", "page_size: lots")
    assert problems(gov) == [
        "governance/sources/marketing.yaml:endpoints[0].page_size: "
        "input should be a valid integer, unable to parse string as an integer (got 'lots')"
    ]


def test_wrong_choice_lists_the_choices(gov: Path) -> None:
    edit(gov / "classification.yaml", "validators: [email]", "validators: [e-mail]")
    assert problems(gov) == [
        "governance/classification.yaml:classes[0].validators[0]: input should be 'email', 'phone', 'iban', "
        "'luhn', 'date_of_birth', 'address' or 'person_name' (got 'e-mail')"
    ]


def test_bad_regex(gov: Path) -> None:
    edit(gov / "classification.yaml", "column_patterns: ['e_?mail']", "column_patterns: ['e_?mail', '(unclosed']")
    assert problems(gov) == [
        "governance/classification.yaml:classes[0].column_patterns[1]: invalid regular expression '(unclosed': "
        "missing ), unterminated subpattern at position 0"
    ]


def test_threshold_out_of_range(gov: Path) -> None:
    edit(gov / "classification.yaml", "match_threshold: 0.8", "match_threshold: 0")
    assert problems(gov) == ["governance/classification.yaml:match_threshold: input should be greater than 0 (got 0)"]


def test_empty_primary_key(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "primary_key: [event_id]", "primary_key: []")
    assert problems(gov) == [
        "governance/sources/shop.yaml:tables[6].primary_key: primary key must name at least one column"
    ]


def test_missing_cursor_key_is_an_error_not_a_full_refresh(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "    cursor: order_item_id    # order lines are insert-only\n", "")
    assert problems(gov) == ["governance/sources/shop.yaml:tables[3].cursor: missing required key"]


def test_lookback_and_delete_detection_mistakes_are_named(gov: Path) -> None:
    shop = gov / "sources" / "shop.yaml"
    edit(shop, "    cursor: updated_at\n", "    cursor: updated_at\n    lookback: 5m\n")
    edit(
        shop,
        "    cursor: order_item_id    # order lines are insert-only\n",
        "    cursor: order_item_id\n    lookback: -3\n",
    )
    edit(
        shop,
        "    cursor: occurred_at      # append-only event log\n",
        "    cursor: null\n    delete_detection: {mode: hard}\n",
    )
    edit(
        shop,
        "  - name: orders\n    primary_key: [order_id]\n",
        "  - name: orders\n    primary_key: [order_id]\n    delete_detection: {mode: gone, every: P1M}\n",
    )
    expected = (
        "an ISO 8601 duration such as 'PT5M' or 'PT1H' (timestamp and date cursors), "
        "a whole number of cursor units such as 1000 (integer cursors), or 0 for none"
    )
    assert problems(gov) == [
        f"governance/sources/shop.yaml:tables[0].lookback: '5m' is not {expected}",
        "governance/sources/shop.yaml:tables[2].delete_detection.mode: input should be 'soft' or 'hard' (got 'gone')",
        "governance/sources/shop.yaml:tables[2].delete_detection.every: 'P1M': use days, hours or minutes here, "
        "not years or months",
        f"governance/sources/shop.yaml:tables[3].lookback: -3 is negative; expected {expected}",
        "governance/sources/shop.yaml:tables[6]: 'delete_detection' needs a 'cursor': a table without one is read "
        "in full at every load (rows deleted at the source are deleted from the raw table then)",
    ]


def test_delete_detection_of_a_mysql_source_is_refused(gov: Path) -> None:
    (gov / "sources" / "crm.yaml").write_text(
        "name: crm\ntype: mysql\nconnection_id: mysql_crm\nschema: crm\nowner: data-platform\nschedule: '@daily'\n"
        "retention_class: operational\nschema_policy: freeze\ntables:\n"
        "  - {name: accounts, primary_key: [id], cursor: updated_at, delete_detection: {mode: soft}}\n",
        encoding="utf-8",
    )
    assert problems(gov) == [
        "governance/sources/crm.yaml: table 'accounts': delete_detection is available for PostgreSQL sources only "
        "(the MySQL connector cannot read a table's keys alone yet); remove it, or leave the cursor out for a full "
        "refresh, which deletes what the source no longer has"
    ]


def test_unknown_and_missing_source_type(gov: Path) -> None:
    edit(gov / "sources" / "stores.yaml", "type: files", "type: file")
    edit(gov / "sources" / "marketing.yaml", "type: rest\n", "")
    assert problems(gov) == [
        "governance/sources/marketing.yaml:type: missing required key (one of: files, graphql, mysql, postgres, rest)",
        "governance/sources/stores.yaml:type: unknown source type 'file' "
        "(known: files, graphql, mysql, postgres, rest)",
    ]


def test_keys_of_another_source_type_are_unknown(gov: Path) -> None:
    edit(gov / "sources" / "stores.yaml", "schema_policy: freeze", "schema_policy: freeze\nschema: public")
    assert problems(gov) == [
        "governance/sources/stores.yaml:schema: unknown key 'schema' (did you mean 'schema_policy'?)"
    ]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            '"@hourlly"',
            "unknown schedule preset '@hourlly' (known: @once, @continuous, @hourly, @daily, "
            "@weekly, @monthly, @quarterly, @yearly, @annually)",
        ),
        (
            '"15 * * *"',
            "invalid cron expression '15 * * *': expected 5 fields (minute hour day-of-month month day-of-week), got 4",
        ),
        ('"75 * * * *"', "invalid cron expression '75 * * * *': minute '75' is outside 0-59"),
    ],
)
def test_bad_schedule(gov: Path, schedule: str, message: str) -> None:
    edit(gov / "sources" / "marketing.yaml", 'schedule: "15 * * * *"', f"schedule: {schedule}")
    assert problems(gov) == [f"governance/sources/marketing.yaml:schedule: {message}"]


def test_bad_durations(gov: Path) -> None:
    edit(gov / "retention.yaml", "duration: P30D", "duration: 30")
    edit(gov / "retention.yaml", "duration: P13M", "duration: 13 months")
    edit(gov / "approvals.yaml", "timeout: P2D", "timeout: P1M")
    assert problems(gov) == [
        "governance/retention.yaml:classes[2].duration: "
        "'13 months' is not an ISO 8601 duration such as 'P30D', 'P7Y' or 'PT48H'",
        "governance/retention.yaml:classes[5].duration: "
        "expected an ISO 8601 duration such as 'P30D', 'P7Y' or 'PT48H', got 30",
        "governance/approvals.yaml:policies[0].timeout: 'P1M': use days, hours or minutes here, not years or months",
    ]


def test_budget_thresholds_must_ascend(gov: Path) -> None:
    edit(gov / "budgets.yaml", "alert_thresholds: [0.5, 0.8, 1.0]", "alert_thresholds: [0.8, 0.5]")
    assert problems(gov) == [
        "governance/budgets.yaml:budgets[0].alert_thresholds: thresholds must be strictly ascending, got [0.8, 0.5]"
    ]


def test_bad_currency(gov: Path) -> None:
    edit(gov / "budgets.yaml", "currency: EUR", "currency: euro")
    assert problems(gov) == [
        "governance/budgets.yaml:budgets[0].currency: 'euro' is not an ISO 4217 currency code such as 'EUR' or 'USD'"
    ]


def test_metric_sql_needs_a_query(gov: Path) -> None:
    edit(gov / "roi.yaml", "    kind: per_row\n    amount: 0.002", "    kind: metric_sql\n    amount: 0.002")
    assert problems(gov) == [
        "governance/roi.yaml:values[1]: kind 'metric_sql' needs a 'sql' query returning one number"
    ]


def test_bad_source_name(gov: Path) -> None:
    edit(gov / "sources" / "stores.yaml", "name: stores\n", "name: Stores\n")
    assert problems(gov) == [
        "governance/sources/stores.yaml:name: 'Stores' is not a valid name "
        "(lower-case letters, digits and '_'; it names a table)"
    ]


# --------------------------------------------------------------------------- cross-file errors


def test_unknown_team(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "owner: data-platform", "owner: markting")
    edit(gov / "teams.yaml", "  cost: finance", "  cost: finanse")
    assert problems(gov) == [
        f"governance/teams.yaml:owners.cost: unknown team 'finanse' (known: {TEAMS})",
        f"governance/sources/shop.yaml:owner: unknown team 'markting' (known: {TEAMS})",
    ]


def test_unknown_retention_class(gov: Path) -> None:
    edit(gov / "sources" / "stores.yaml", "    retention_class: reference-data", "    retention_class: forever")
    assert problems(gov) == [
        "governance/sources/stores.yaml:files[0].retention_class: unknown retention class 'forever' (known: "
        "audit-evidence, customer-data, financial-records, marketing-events, operational, platform-records, "
        "quarantine, reference-data)"
    ]


def test_unknown_classification_class(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "      name: none", "      name: nome")
    assert problems(gov) == [
        "governance/sources/shop.yaml:tables[1].classification.name: unknown classification class 'nome' (known: "
        "address, birth_date, email, iban, name, payment_card, phone, postal_code, or 'none')"
    ]


def test_duplicate_table(gov: Path) -> None:
    edit(gov / "sources" / "shop.yaml", "  - name: payments", "  - name: orders")
    assert problems(gov) == [
        "governance/roi.yaml:values[1].applies_to.datasets[0]: unknown raw dataset 'raw.shop__payments': "
        "no source declares it (raw.<source>__<table>)",
        "governance/sources/shop.yaml:tables[4].name: duplicate table name 'orders' (first at tables[2])",
    ]


def test_duplicate_endpoint(gov: Path) -> None:
    edit(gov / "sources" / "marketing.yaml", "  - name: campaigns", "  - name: events")
    assert problems(gov) == [
        "governance/roi.yaml:values[3].applies_to.datasets[1]: unknown raw dataset 'raw.marketing__campaigns': "
        "no source declares it (raw.<source>__<table>)",
        "governance/sources/marketing.yaml:endpoints[1].name: duplicate endpoint name 'events' (first at endpoints[0])",
    ]


def test_name_must_match_file_stem(gov: Path) -> None:
    edit(gov / "sources" / "marketing.yaml", "name: marketing", "name: mktg")
    assert problems(gov) == [
        "governance/sources/marketing.yaml:name: name 'mktg' does not match the file name 'marketing.yaml'"
    ]


def test_approval_policy_checks(gov: Path) -> None:
    edit(gov / "approvals.yaml", "  - team: finance\n", "  - team: finance\n        role: steward\n")
    edit(gov / "approvals.yaml", "min_approvals: 2", "min_approvals: 3")
    edit(gov / "approvals.yaml", "subject: schema_change", "subject: model_promotion")
    assert problems(gov) == [
        "governance/approvals.yaml:policies[1].subject: duplicate policy for subject 'model_promotion' "
        "(first at policies[0])",
        "governance/approvals.yaml:policies: no policy for subject 'schema_change'",
        "governance/approvals.yaml:policies[3].min_approvals: needs 3 approval(s) besides the requester "
        "(separation of duties) but only 3 member(s) may approve",
        "governance/approvals.yaml:policies[4].approvers[0]: team 'finance' has no member with role 'steward'",
    ]


def test_all_problems_across_files_are_collected(gov: Path) -> None:
    (gov / "roi.yaml").unlink()
    edit(gov / "teams.yaml", "  transform: analytics", "  transform: analytics\n  transform: ml")
    edit(gov / "dag_policy.yaml", "required_fields:", "required_field:")
    edit(gov / "sources" / "shop.yaml", "owner: data-platform", "owner: nobody")
    found = problems(gov)
    assert found == [
        "governance/teams.yaml:71: invalid YAML: duplicate key 'transform'",
        "governance/dag_policy.yaml:required_fields: missing required key",
        "governance/dag_policy.yaml:required_field: unknown key 'required_field' (did you mean 'required_fields'?)",
        "governance/roi.yaml: missing required file",
    ]
    # references to teams are only checked once teams.yaml is valid: no noise from a broken file
    edit(gov / "teams.yaml", "  transform: analytics\n  transform: ml", "  transform: analytics")
    assert f"governance/sources/shop.yaml:owner: unknown team 'nobody' (known: {TEAMS})" in problems(gov)


# --------------------------------------------------------------------------- value types


def test_duration_parsing_and_arithmetic() -> None:
    assert Duration.parse("P1Y2M3W4DT5H6M7S") == Duration("P1Y2M3W4DT5H6M7S", 1, 2, 3, 4, 5, 6, 7)
    assert Duration.parse("PT48H").to_timedelta() == timedelta(hours=48)
    moment = datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert Duration.parse("P1Y").before(moment) == datetime(2023, 2, 28, 12, tzinfo=UTC)
    assert Duration.parse("P13M").before(moment) == datetime(2023, 1, 29, 12, tzinfo=UTC)
    assert Duration.parse("P30D").before(moment) == datetime(2024, 1, 30, 12, tzinfo=UTC)
    for bad in ("P", "PT", "P0D", "30D", "P1.5Y"):
        with pytest.raises(ValueError, match="duration"):
            Duration.parse(bad)
    with pytest.raises(ValueError, match="no fixed length"):
        Duration.parse("P1M").to_timedelta()


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("*/15 * * * *", None),
        ("0 6 * * MON-FRI", None),
        ("30 2 1,15 JAN,jul 0", None),
        ("*/0 * * * *", "minute field '*/0' is not valid"),
        ("0 24 * * *", "hour '24' is outside 0-23"),
        ("0 0 0 * *", "day of month '0' is outside 1-31"),
        ("0 0 * FOO *", "month 'FOO' is outside 1-12"),
    ],
)
def test_cron_problem(expression: str, problem: str | None) -> None:
    assert cron_problem(expression) == problem


# --------------------------------------------------------------------------- the command


def test_cli_valid_config_exits_0() -> None:
    result = CliRunner().invoke(validate_command, ["--dir", str(REPO_GOVERNANCE)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("\n11 files valid\n")  # after a line on whether connections were checked


def test_cli_prints_each_problem_and_a_summary(gov: Path) -> None:
    (gov / "approvals.yaml").unlink()
    edit(gov / "sources" / "shop.yaml", "owner: data-platform", "owner: markting")
    result = CliRunner().invoke(validate_command, ["--dir", "governance"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "governance/approvals.yaml: missing required file",
        f"governance/sources/shop.yaml:owner: unknown team 'markting' (known: {TEAMS})",
        "2 problems in 2 files (10 checked)",
    ]


def test_cli_default_folder_and_missing_folder(gov: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_GOVERNANCE_DIR, str(gov))
    assert CliRunner().invoke(validate_command, []).output.endswith("\n11 files valid\n")
    result = CliRunner().invoke(validate_command, ["--dir", "no-such-folder"])
    assert result.exit_code == 2
    assert "'no-such-folder' does not exist" in result.output


def test_model_policy_checks(gov: Path) -> None:
    edit(gov / "models.yaml", "drift_share: 0.3", "drift_share: 1.5")
    assert problems(gov) == [
        "governance/models.yaml:models[0].monitoring.drift_share: input should be less than or equal to 1 (got 1.5)"
    ]
    edit(gov / "models.yaml", "drift_share: 1.5", "drift_share: 0.3")
    edit(gov / "models.yaml", "protected_attributes: [age_band, region]", "protected_attributes: [region, tenure_days]")
    assert problems(gov) == [
        "governance/models.yaml:models[0]: column 'tenure_days' is listed both in features and in protected_attributes"
    ]
    edit(gov / "models.yaml", "[region, tenure_days]", "[region]")
    edit(gov / "models.yaml", "    team: ml\n", "    team: mlops\n")
    edit(gov / "models.yaml", "features_table: marts.ml_churn_features", "features_table: raw.shop__customers")
    assert problems(gov) == [
        "governance/models.yaml:models[0].team: unknown team 'mlops' "
        "(known: analytics, compliance, data-platform, finance, ml)",
        "governance/models.yaml:models[0].features_table: 'raw.shop__customers': "
        "a model reads a feature table dbt builds in 'marts'",
    ]
