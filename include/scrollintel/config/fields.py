"""Field types shared by the governance models: annotated strings with the error they raise, and the base model."""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: Schedule presets Airflow understands besides cron expressions.
SCHEDULE_PRESETS: tuple[str, ...] = (
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
    "@annually",
)

ValueValidator = Literal["email", "phone", "iban", "luhn", "date_of_birth", "address", "person_name"]
Role = Literal["lead", "engineer", "analyst", "steward", "auditor"]
#: What dbt staging exposes of a column of a class (implemented by dbt/macros/masking.sql).
MaskingPolicy = Literal["hash", "partial", "generalise", "redact", "drop"]
SubjectKind = Literal[
    "model_promotion", "schema_change", "pii_access", "retention_override", "budget_increase", "erasure"
]
SUBJECT_KINDS: tuple[str, ...] = get_args(SubjectKind)


def matching(regex: str, what: str) -> AfterValidator:
    """A validator accepting strings that fully match ``regex``; the error says what was expected."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _check_source_name(value: str) -> str:
    if "__" in value:
        raise ValueError(f"{value!r} must not contain '__' (raw tables are named <source>__<table>)")
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as err:
        raise ValueError(f"invalid regular expression {value!r}: {err}") from err
    return value


def _check_columns(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("primary key must name at least one column")
    seen: set[str] = set()
    for column in value:
        if column in seen:
            raise ValueError(f"column {column!r} appears twice in the primary key")
        seen.add(column)
    return value


def _check_schedule(value: str | None) -> str | None:
    if value is None or value in SCHEDULE_PRESETS:
        return value
    if value.startswith("@"):
        raise ValueError(f"unknown schedule preset {value!r} (known: {', '.join(SCHEDULE_PRESETS)})")
    problem = cron_problem(value)
    if problem:
        raise ValueError(f"invalid cron expression {value!r}: {problem}")
    return value


_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)


def cron_problem(expression: str) -> str | None:
    """What is wrong with a five-field cron expression, or None when it is valid."""
    fields = expression.split()
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for text, (label, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in text.split(","):
            match = re.fullmatch(r"(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?", part)
            if not match or match.group(2) == "0":
                return f"{label} field {text!r} is not valid"
            if match.group(1) == "*":
                continue
            for bound in match.group(1).split("-"):
                upper = bound.upper()
                if upper in names:
                    continue
                if not bound.isdigit() or not low <= int(bound) <= high:
                    return f"{label} {bound!r} is outside {low}-{high}"
    return None


Id = Annotated[
    str,
    matching(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*", "a valid id (lower-case letters and digits, '-' or '_' between)"),
]
Identifier = Annotated[
    str, matching(r"[a-z][a-z0-9_]{0,62}", "a valid name (lower-case letters, digits and '_'; it names a table)")
]
SourceName = Annotated[Identifier, AfterValidator(_check_source_name)]
Regex = Annotated[str, AfterValidator(_check_regex)]
ColumnName = Annotated[str, Field(min_length=1, max_length=63)]
PrimaryKey = Annotated[list[ColumnName], AfterValidator(_check_columns)]
Currency = Annotated[str, matching(r"[A-Z]{3}", "an ISO 4217 currency code such as 'EUR' or 'USD'")]
Schedule = Annotated[str | None, AfterValidator(_check_schedule)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
ConnectionId = Annotated[str, matching(r"[a-z][a-z0-9_]{0,249}", "an Airflow connection id such as 'postgres_shop'")]
SlackChannel = Annotated[str, matching(r"#[a-z0-9][a-z0-9._-]{0,79}", "a Slack channel such as '#data-platform'")]
SlackUserId = Annotated[str, matching(r"[UW][A-Z0-9]{2,20}", "a Slack user id such as 'U024BE7LH'")]
Dataset = Annotated[
    str, matching(r"(raw|staging|marts)\.[a-z_][a-z0-9_]*", "a dataset such as 'raw.shop__orders' or 'marts.orders'")
]


class GovernanceModel(BaseModel):
    """Base of every governance model: unknown keys are errors and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
