"""Governance policy files (``governance/*.yaml``): pydantic models, loader and validation.

Every file is validated against a strict model (unknown keys are errors), then the files are
checked against each other (team, retention class and classification references, duplicate
names). All problems are collected, each naming the file and the key (or the YAML line), so
one run of ``scrollintel validate`` shows everything that needs fixing.

Entry points:

- :func:`load_governance` — the validated :class:`Governance`, cached until a file changes;
  raises :class:`GovernanceError` listing every problem.
- :func:`check_governance` / :func:`validate_governance` — all problems, without raising.
- small accessors for callers that need one piece (:func:`load_dag_policy`, :func:`team_ids`,
  :func:`load_source`).

Only pydantic and PyYAML are imported: the DAG processor and the cluster policy call this.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import logging
import re
import types
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from scrollintel import settings
from scrollintel.exceptions import ConfigError

log = logging.getLogger(__name__)

#: The policy files every governance folder must hold (name -> what it declares).
TEAMS_FILE = "teams.yaml"
DAG_POLICY_FILE = "dag_policy.yaml"
CLASSIFICATION_FILE = "classification.yaml"
RETENTION_FILE = "retention.yaml"
BUDGETS_FILE = "budgets.yaml"
ROI_FILE = "roi.yaml"
APPROVALS_FILE = "approvals.yaml"
SOURCES_DIR = "sources"

#: Sensitivity levels, least to most sensitive; also the DAG classification tags.
SENSITIVITY_LEVELS: tuple[str, ...] = ("public", "internal", "confidential", "restricted")
#: Value validators the PII classifier implements (compliance package).
VALUE_VALIDATORS: tuple[str, ...] = (
    "email",
    "phone",
    "iban",
    "luhn",
    "date_of_birth",
    "address",
    "person_name",
)
#: A classification override that marks a column as holding no personal data.
NOT_PERSONAL = "none"
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

Sensitivity = Literal["public", "internal", "confidential", "restricted"]
ValueValidator = Literal["email", "phone", "iban", "luhn", "date_of_birth", "address", "person_name"]
Role = Literal["lead", "engineer", "analyst", "steward", "auditor"]
#: What dbt staging exposes of a column of a class (implemented by dbt/macros/masking.sql).
MaskingPolicy = Literal["hash", "partial", "generalise", "redact", "drop"]
SubjectKind = Literal["model_promotion", "schema_change", "pii_access", "retention_override", "budget_increase"]
SUBJECT_KINDS: tuple[str, ...] = get_args(SubjectKind)


# --------------------------------------------------------------------------- field types


def _matching(regex: str, what: str) -> AfterValidator:
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
    _matching(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*", "a valid id (lower-case letters and digits, '-' or '_' between)"),
]
Identifier = Annotated[
    str, _matching(r"[a-z][a-z0-9_]{0,62}", "a valid name (lower-case letters, digits and '_'; it names a table)")
]
SourceName = Annotated[Identifier, AfterValidator(_check_source_name)]
Regex = Annotated[str, AfterValidator(_check_regex)]
Column = Annotated[str, Field(min_length=1, max_length=63)]
PrimaryKey = Annotated[list[Column], AfterValidator(_check_columns)]
Currency = Annotated[str, _matching(r"[A-Z]{3}", "an ISO 4217 currency code such as 'EUR' or 'USD'")]
Schedule = Annotated[str | None, AfterValidator(_check_schedule)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
ConnectionId = Annotated[str, _matching(r"[a-z][a-z0-9_]{0,249}", "an Airflow connection id such as 'postgres_shop'")]
SlackChannel = Annotated[str, _matching(r"#[a-z0-9][a-z0-9._-]{0,79}", "a Slack channel such as '#data-platform'")]
Dataset = Annotated[
    str, _matching(r"(raw|staging|marts)\.[a-z_][a-z0-9_]*", "a dataset such as 'raw.shop__orders' or 'marts.orders'")
]

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration such as ``P30D``, ``P7Y`` or ``PT48H`` (positive, integer parts)."""

    text: str
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: object) -> Duration:
        """Parse ``text``; raises ValueError with an example of the expected form."""
        if isinstance(text, Duration):
            return text
        if not isinstance(text, str):
            raise ValueError(f"expected an ISO 8601 duration such as 'P30D', 'P7Y' or 'PT48H', got {text!r}")
        match = _DURATION.fullmatch(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not an ISO 8601 duration such as 'P30D', 'P7Y' or 'PT48H'")
        parts = {key: int(value) for key, value in match.groupdict().items() if value}
        if not any(parts.values()):
            raise ValueError(f"duration {text!r} must be longer than zero")
        return cls(text=text.strip(), **parts)

    @property
    def is_calendar(self) -> bool:
        """True when the length depends on the calendar (years or months)."""
        return bool(self.years or self.months)

    def _clock_part(self) -> timedelta:
        return timedelta(weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds)

    def to_timedelta(self) -> timedelta:
        """The fixed length; only for durations without years or months."""
        if self.is_calendar:
            raise ValueError(f"duration {self.text!r} has years or months and no fixed length")
        return self._clock_part()

    def before(self, moment: datetime) -> datetime:
        """``moment`` minus this duration, calendar-aware (29 Feb minus P1Y is 28 Feb)."""
        month_index = moment.year * 12 + (moment.month - 1) - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        month += 1
        next_month = datetime(year + (month == 12), month % 12 + 1, 1)
        last_day = (next_month - timedelta(days=1)).day
        shifted = moment.replace(year=year, month=month, day=min(moment.day, last_day))
        return shifted - self._clock_part()

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def _fixed_length(value: Duration) -> Duration:
    if value.is_calendar:
        raise ValueError(f"{value.text!r}: use days, hours or minutes here, not years or months")
    return value


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    """Base of every governance model: unknown keys are errors and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# teams.yaml


class Member(_Model):
    """A team member: the Airflow user id and a role, nothing else personal."""

    id: Id
    role: Role


class Team(_Model):
    """A team that owns sources and DAGs, approves changes and carries a budget."""

    id: Id
    name: Text
    slack_channel: SlackChannel
    members: list[Member] = Field(min_length=1)

    def members_with(self, role: str | None = None) -> list[Member]:
        """Members holding ``role`` (all members when None)."""
        return [member for member in self.members if role is None or member.role == role]


class Owners(_Model):
    """Which team answers for each platform area (alerts and default DAG owner)."""

    ingestion: Id
    transform: Id
    quality: Id
    ml: Id
    lineage: Id
    audit: Id
    approvals: Id
    cost: Id
    compliance: Id
    platform: Id


class TeamsConfig(_Model):
    """governance/teams.yaml."""

    teams: list[Team] = Field(min_length=1)
    owners: Owners


# dag_policy.yaml


class DagPolicy(_Model):
    """governance/dag_policy.yaml: what the Airflow cluster policy enforces on every DAG."""

    approved_tags: list[Id] = Field(min_length=1)
    classification_tags: list[Sensitivity] = Field(min_length=1)
    require_classification_tag: bool
    required_fields: list[Literal["owner", "tags", "doc_md", "description"]]

    def unapproved_tags(self, tags: Iterable[str]) -> list[str]:
        """The tags that are neither approved nor a classification tag, sorted."""
        allowed = set(self.approved_tags) | set(self.classification_tags)
        return sorted(set(tags) - allowed)

    def classification_of(self, tags: Iterable[str]) -> list[str]:
        """The classification tags among ``tags`` (a valid DAG carries exactly one)."""
        present = set(tags)
        return [tag for tag in self.classification_tags if tag in present]


# classification.yaml


class ClassificationClass(_Model):
    """One kind of personal or sensitive data the classifier looks for."""

    id: Id
    description: Text
    sensitivity: Sensitivity
    masking: MaskingPolicy
    column_patterns: list[Regex] = Field(min_length=1)
    validators: list[ValueValidator] = Field(default_factory=list)
    match_threshold: float | None = Field(default=None, gt=0, le=1)

    _compiled: list[re.Pattern[str]] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:
        self._compiled = [re.compile(pattern, re.IGNORECASE) for pattern in self.column_patterns]

    def matches_column(self, column: str) -> bool:
        """True when a column name matches one of the patterns (case-insensitive search)."""
        return any(pattern.search(column) for pattern in self._compiled)


class ClassificationConfig(_Model):
    """governance/classification.yaml."""

    sample_size: int = Field(gt=0, le=1_000_000)
    match_threshold: float = Field(gt=0, le=1)
    classes: list[ClassificationClass] = Field(min_length=1)

    def get(self, class_id: str) -> ClassificationClass:
        """The class named ``class_id``; KeyError when unknown."""
        for item in self.classes:
            if item.id == class_id:
                return item
        raise KeyError(class_id)

    def threshold_for(self, class_id: str) -> float:
        """The class's own match threshold or the default one."""
        own = self.get(class_id).match_threshold
        return own if own is not None else self.match_threshold


# retention.yaml


class RetentionClass(_Model):
    """How long data of one kind is kept and what happens after."""

    id: Id
    description: Text
    duration: Duration
    action: Literal["delete", "anonymise", "archive"]
    legal_basis: Text


class RetentionConfig(_Model):
    """governance/retention.yaml."""

    classes: list[RetentionClass] = Field(min_length=1)


# budgets.yaml


class Budget(_Model):
    """A team's monthly spending budget and when to alert."""

    team: Id
    currency: Currency
    monthly_amount: Decimal = Field(gt=0)
    alert_thresholds: list[float] = Field(min_length=1)

    @field_validator("alert_thresholds")
    @classmethod
    def _ascending(cls, value: list[float]) -> list[float]:
        for threshold in value:
            if not 0 < threshold <= 10:
                raise ValueError(f"threshold {threshold} must be a fraction of the budget above 0 (1.0 = 100%)")
        if any(later <= earlier for earlier, later in itertools.pairwise(value)):
            raise ValueError(f"thresholds must be strictly ascending, got {value}")
        return value


class BudgetsConfig(_Model):
    """governance/budgets.yaml."""

    budgets: list[Budget] = Field(min_length=1)


# roi.yaml


class AppliesTo(_Model):
    """What a value definition is credited to: DAG runs and/or datasets."""

    dags: list[Id] = Field(default_factory=list)
    datasets: list[Dataset] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> AppliesTo:
        if not self.dags and not self.datasets:
            raise ValueError("name at least one DAG id or dataset")
        return self


class ValueDefinition(_Model):
    """Business value credited against cost: per run, per row, or a SQL metric times an amount."""

    id: Id
    team: Id
    description: Text
    kind: Literal["fixed_per_run", "per_row", "metric_sql"]
    amount: Decimal = Field(gt=0)
    currency: Currency
    applies_to: AppliesTo
    sql: str | None = None

    @model_validator(mode="after")
    def _sql_matches_kind(self) -> ValueDefinition:
        if self.kind == "metric_sql":
            if not self.sql:
                raise ValueError("kind 'metric_sql' needs a 'sql' query returning one number")
            if not re.match(r"(?is)\s*(select|with)\b", self.sql):
                raise ValueError("'sql' must be a single SELECT (or WITH ... SELECT) query")
        elif self.sql is not None:
            raise ValueError(f"'sql' is only used with kind 'metric_sql', not {self.kind!r}")
        return self


class RoiConfig(_Model):
    """governance/roi.yaml."""

    values: list[ValueDefinition] = Field(min_length=1)


# approvals.yaml


class Approver(_Model):
    """Who may approve: a team, optionally narrowed to one role."""

    team: Id
    role: Role | None = None


class ApprovalPolicy(_Model):
    """How one kind of change is approved."""

    subject: SubjectKind
    description: Text
    approvers: list[Approver] = Field(min_length=1)
    min_approvals: int = Field(ge=1, le=10)
    timeout: Annotated[Duration, AfterValidator(_fixed_length)]
    separation_of_duties: bool


class ApprovalsConfig(_Model):
    """governance/approvals.yaml."""

    policies: list[ApprovalPolicy] = Field(min_length=1)


# sources/<name>.yaml


class Resource(_Model):
    """What every table, endpoint and file of a source has in common."""

    name: Identifier
    primary_key: PrimaryKey
    classification: dict[Column, Id] = Field(default_factory=dict)
    retention_class: Id | None = None


class Table(Resource):
    """A database table, extracted incrementally on ``cursor`` or in full when it is null."""

    cursor: Column | None


class RestEndpoint(Resource):
    """A REST collection read with GET, optionally paged by an opaque cursor."""

    path: Annotated[str, _matching(r"/\S*", "an absolute URL path such as '/v1/events'")]
    records_path: str | None = None
    cursor_param: str | None = None
    next_cursor_field: str | None = None
    page_size: int | None = Field(default=None, ge=1, le=10_000)
    page_size_param: str | None = None

    @model_validator(mode="after")
    def _paging_is_complete(self) -> RestEndpoint:
        if (self.cursor_param is None) != (self.next_cursor_field is None):
            raise ValueError("set both 'cursor_param' and 'next_cursor_field', or neither")
        if (self.page_size is None) != (self.page_size_param is None):
            raise ValueError("set both 'page_size' and 'page_size_param', or neither")
        return self


class GraphqlEndpoint(Resource):
    """A GraphQL query, optionally paged through a cursor variable."""

    query: Annotated[str, Field(min_length=1)]
    records_path: Annotated[str, Field(min_length=1)]
    cursor_variable: str | None = None
    next_cursor_field: str | None = None
    page_size: int | None = Field(default=None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _paging_is_complete(self) -> GraphqlEndpoint:
        if (self.cursor_variable is None) != (self.next_cursor_field is None):
            raise ValueError("set both 'cursor_variable' and 'next_cursor_field', or neither")
        return self


def _check_glob(value: str) -> str:
    if value.startswith("/") or ".." in Path(value).parts:
        raise ValueError(f"{value!r} must be relative to the object store root, without '..'")
    return value


class DataFile(Resource):
    """Files in object storage matching a glob, loaded as one dataset."""

    path: Annotated[str, Field(min_length=1), AfterValidator(_check_glob)]
    format: Literal["csv", "parquet"]
    storage: Literal["local", "s3"]


class _SourceBase(_Model):
    """What every source declares, whatever its type."""

    name: SourceName
    description: Text | None = None
    connection_id: ConnectionId
    owner: Id
    schedule: Schedule
    retention_class: Id
    schema_policy: Literal["evolve", "freeze"]
    classification: dict[Column, Id] = Field(default_factory=dict)

    #: The key listing this source type's resources, and what one is called in messages.
    resource_key: ClassVar[str]
    resource_label: ClassVar[str]

    @property
    def resources(self) -> list[Resource]:
        """The tables, endpoints or files of this source."""
        return list(getattr(self, self.resource_key))

    def resource(self, name: str) -> Resource:
        """The table/endpoint/file named ``name``; KeyError when unknown."""
        for item in self.resources:
            if item.name == name:
                return item
        raise KeyError(name)

    def retention_class_of(self, name: str) -> str:
        """The retention class of one resource (its own, else the source's)."""
        return self.resource(name).retention_class or self.retention_class

    def classification_overrides(self, name: str) -> dict[str, str]:
        """Column -> class id (or ``none``) for one resource: source overrides, then its own."""
        return {**self.classification, **self.resource(name).classification}


class DatabaseSource(_SourceBase):
    """A relational database read through an Airflow connection."""

    resource_key = "tables"
    resource_label = "table"

    db_schema: Identifier = Field(alias="schema")
    tables: list[Table] = Field(min_length=1)


class PostgresSource(DatabaseSource):
    """A PostgreSQL database."""

    type: Literal["postgres"]


class MysqlSource(DatabaseSource):
    """A MySQL or MariaDB database."""

    type: Literal["mysql"]


class RestSource(_SourceBase):
    """An HTTP JSON API; the base URL and credentials live in the connection."""

    resource_key = "endpoints"
    resource_label = "endpoint"

    type: Literal["rest"]
    endpoints: list[RestEndpoint] = Field(min_length=1)


class GraphqlSource(_SourceBase):
    """A GraphQL API; the URL and credentials live in the connection."""

    resource_key = "endpoints"
    resource_label = "endpoint"

    type: Literal["graphql"]
    endpoints: list[GraphqlEndpoint] = Field(min_length=1)


class FilesSource(_SourceBase):
    """Files (CSV, Parquet) in local or S3 object storage."""

    resource_key = "files"
    resource_label = "file"

    type: Literal["files"]
    files: list[DataFile] = Field(min_length=1)


SourceConfig = PostgresSource | MysqlSource | RestSource | GraphqlSource | FilesSource
#: Any source file's model, chosen by its ``type`` key.
Source = Annotated[SourceConfig, Field(discriminator="type")]
SOURCE_TYPES: tuple[str, ...] = ("files", "graphql", "mysql", "postgres", "rest")


class Governance(_Model):
    """Every governance file of one folder, validated and cross-checked."""

    directory: Path
    teams: TeamsConfig
    dag_policy: DagPolicy
    classification: ClassificationConfig
    retention: RetentionConfig
    budgets: BudgetsConfig
    roi: RoiConfig
    approvals: ApprovalsConfig
    sources: dict[str, Source]

    @property
    def team_ids(self) -> frozenset[str]:
        """Ids of all declared teams."""
        return frozenset(team.id for team in self.teams.teams)

    def team(self, team_id: str) -> Team:
        """The team ``team_id``; KeyError when unknown."""
        for team in self.teams.teams:
            if team.id == team_id:
                return team
        raise KeyError(team_id)

    def source(self, name: str) -> SourceConfig:
        """The source ``name``; KeyError when unknown."""
        return self.sources[name]

    def retention_class(self, class_id: str) -> RetentionClass:
        """The retention class ``class_id``; KeyError when unknown."""
        for item in self.retention.classes:
            if item.id == class_id:
                return item
        raise KeyError(class_id)

    def approval_policy(self, subject: str) -> ApprovalPolicy:
        """The approval policy for a subject kind; KeyError when unknown."""
        for policy in self.approvals.policies:
            if policy.subject == subject:
                return policy
        raise KeyError(subject)

    def eligible_approvers(self, subject: str) -> list[str]:
        """Member ids who may approve ``subject`` (before separation of duties), sorted."""
        ids: set[str] = set()
        for approver in self.approval_policy(subject).approvers:
            ids.update(member.id for member in self.team(approver.team).members_with(approver.role))
        return sorted(ids)

    def budget(self, team_id: str) -> Budget | None:
        """The team's monthly budget, or None when it has none."""
        return next((item for item in self.budgets.budgets if item.team == team_id), None)


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a governance file: where (key path or YAML line) and what."""

    path: Path
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{display_path(self.path)}:{self.location}" if self.location else display_path(self.path)
        return f"{where}: {self.message}"


class GovernanceError(ConfigError):
    """Governance files are invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in governance config:\n{lines}")


@dataclass(frozen=True)
class GovernanceReport:
    """The result of checking one governance folder."""

    directory: Path
    files: tuple[Path, ...]
    problems: tuple[Problem, ...]
    governance: Governance | None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def display_path(path: Path) -> str:
    """``path`` relative to the working directory, else to the project root, else as is."""
    for base in (Path.cwd(), settings.project_root()):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


# --------------------------------------------------------------------------- YAML


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that rejects duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        if not isinstance(key, Hashable):
            continue  # construct_mapping reports it
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """The file's top-level mapping, or None after recording why it could not be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        problems.append(Problem(path, "", f"cannot read file: {err}"))
        return None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = str(mark.line + 1) if mark is not None else ""
        what = ": ".join(part for part in (err.context, err.problem) if part)
        problems.append(Problem(path, line, f"invalid YAML: {what}"))
        return None
    except yaml.YAMLError as err:
        problems.append(Problem(path, "", f"invalid YAML: {err}"))
        return None
    if data is None:
        problems.append(Problem(path, "", "file is empty (expected a mapping of keys)"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(path, "", f"expected a mapping of keys at the top level, got {_kind(data)}"))
        return None
    return data


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# --------------------------------------------------------------------------- pydantic errors


def format_location(loc: Iterable[str | int]) -> str:
    """``('tables', 2, 'primary_key')`` -> ``tables[2].primary_key``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _strip_annotations(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        members = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(members) == 1:
            return _strip_annotations(members[0])
    return tp


def _model_at(root: Any, loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that the key path ``loc`` points into (used to suggest key names)."""
    tp = root
    for part in loc:
        tp = _strip_annotations(tp)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next(
                (f for name, f in tp.model_fields.items() if (f.alias or name) == part),
                None,
            )
            if field is None:
                return None
            tp = field.annotation
        elif origin in (list, tuple) and isinstance(part, int):
            tp = get_args(tp)[0]
        elif origin is dict:
            tp = get_args(tp)[1]
        elif origin in (Union, types.UnionType):
            tp = next(
                (
                    member
                    for member in get_args(tp)
                    if isinstance(member, type)
                    and issubclass(member, BaseModel)
                    and "type" in member.model_fields
                    and get_args(member.model_fields["type"].annotation) == (part,)
                ),
                None,
            )
        else:
            return None
    tp = _strip_annotations(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unknown_key_message(root: Any, loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(root, loc[:-1])
    if model is None:
        return f"unknown key {key!r}"
    allowed = sorted(f.alias or name for name, f in model.model_fields.items())
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r} (allowed: {', '.join(allowed)})"


def _error_message(root: Any, error: Mapping[str, Any]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        return _unknown_key_message(root, loc)
    if kind == "missing":
        return "missing required key"
    if kind == "union_tag_not_found":
        return f"missing required key (one of: {', '.join(SOURCE_TYPES)})"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        return f"unknown source type {tag!r} (known: {', '.join(SOURCE_TYPES)})"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    message = str(error["msg"])
    message = message[:1].lower() + message[1:]
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        message += f" (got {value!r})"
    return message


@functools.cache
def _source_adapter() -> TypeAdapter[SourceConfig]:
    return TypeAdapter(Source)


def _validate(root: Any, data: dict[str, Any], path: Path, problems: list[Problem], *, tagged: bool = False) -> Any:
    """Validate ``data`` as ``root`` (a model class or the Source union); None on failure."""
    try:
        if isinstance(root, type) and issubclass(root, BaseModel):
            return root.model_validate(data)
        return _source_adapter().validate_python(data)
    except ValidationError as err:
        for error in err.errors(include_url=False):
            loc = tuple(error["loc"])
            message = _error_message(root, error)
            if error["type"].startswith("union_tag"):
                shown: tuple[str | int, ...] = ("type",)
            else:
                shown = loc[1:] if tagged and loc and loc[0] in SOURCE_TYPES else loc
            problems.append(Problem(path, format_location(shown), message))
        return None


# --------------------------------------------------------------------------- cross-file checks


def raw_table(source: str, resource: str) -> str:
    """The warehouse table a source's table/endpoint/file lands in: ``raw.<source>__<resource>``."""
    return f"raw.{source}__{resource}"


def _known(kind: str, value: str, known: Iterable[str], extra: str = "") -> str:
    return f"unknown {kind} {value!r} (known: {', '.join(sorted(known))}{extra})"


class _CrossCheck:
    """Reference and uniqueness checks between files; only files that validated are checked."""

    def __init__(
        self, directory: Path, parsed: dict[str, Any], sources: dict[Path, SourceConfig], source_files: list[Path]
    ) -> None:
        self.directory = directory
        self.parsed = parsed
        self.sources = sources
        # sources whose file exists but is invalid: references to them are not checked
        self.invalid_sources = {path.stem for path in source_files} - {path.stem for path in sources}
        self.found: list[Problem] = []
        teams: TeamsConfig | None = parsed.get(TEAMS_FILE)
        classification: ClassificationConfig | None = parsed.get(CLASSIFICATION_FILE)
        retention: RetentionConfig | None = parsed.get(RETENTION_FILE)
        # None = that file is invalid: references to it are not checked (its own errors are shown)
        self.teams = {team.id: team for team in teams.teams} if teams else None
        self.class_ids = {item.id for item in classification.classes} if classification else None
        self.retention_ids = {item.id for item in retention.classes} if retention else None

    def run(self) -> list[Problem]:
        checks: dict[str, Callable[[Any], None]] = {
            TEAMS_FILE: self._teams,
            DAG_POLICY_FILE: self._dag_policy,
            CLASSIFICATION_FILE: self._classification,
            RETENTION_FILE: self._retention,
            BUDGETS_FILE: self._budgets,
            ROI_FILE: self._roi,
            APPROVALS_FILE: self._approvals,
        }
        for name, check in checks.items():
            if name in self.parsed:
                check(self.parsed[name])
        for path, source in self.sources.items():
            self._source(path, source)
        return self.found

    def add(self, file: str | Path, location: str, message: str) -> None:
        self.found.append(Problem(self.directory / file if isinstance(file, str) else file, location, message))

    def add_duplicates(self, file: str | Path, items: Iterable[Any], key: str, label: str, prefix: str) -> None:
        first: dict[Any, int] = {}
        for index, item in enumerate(items):
            value = getattr(item, key)
            if value in first:
                self.add(
                    file, f"{prefix}[{index}].{key}", f"duplicate {label} {value!r} (first at {prefix}[{first[value]}])"
                )
            else:
                first[value] = index

    def team(self, file: str | Path, location: str, team_id: str, role: str | None = None) -> None:
        if self.teams is None:
            return
        if team_id not in self.teams:
            self.add(file, location, _known("team", team_id, self.teams))
        elif role is not None and not self.teams[team_id].members_with(role):
            self.add(file, location, f"team {team_id!r} has no member with role {role!r}")

    def retention_class(self, file: Path, location: str, class_id: str | None) -> None:
        if class_id is not None and self.retention_ids is not None and class_id not in self.retention_ids:
            self.add(file, location, _known("retention class", class_id, self.retention_ids))

    def overrides(self, file: Path, location: str, overrides: dict[str, str]) -> None:
        if self.class_ids is None:
            return
        for column, class_id in overrides.items():
            if class_id != NOT_PERSONAL and class_id not in self.class_ids:
                known = _known("classification class", class_id, self.class_ids, f", or {NOT_PERSONAL!r}")
                self.add(file, f"{location}.{column}", known)

    def _teams(self, config: TeamsConfig) -> None:
        self.add_duplicates(TEAMS_FILE, config.teams, "id", "team id", "teams")
        for index, team in enumerate(config.teams):
            self.add_duplicates(TEAMS_FILE, team.members, "id", "member id", f"teams[{index}].members")
        for area, team_id in config.owners.model_dump().items():
            self.team(TEAMS_FILE, f"owners.{area}", team_id)

    def _dag_policy(self, policy: DagPolicy) -> None:
        for index, tag in enumerate(policy.approved_tags):
            if tag in policy.approved_tags[:index]:
                self.add(DAG_POLICY_FILE, f"approved_tags[{index}]", f"duplicate tag {tag!r}")
            elif tag in SENSITIVITY_LEVELS:
                self.add(DAG_POLICY_FILE, f"approved_tags[{index}]", f"{tag!r} is a classification tag; list it there")
        for index, tag in enumerate(policy.classification_tags):
            if tag in policy.classification_tags[:index]:
                self.add(DAG_POLICY_FILE, f"classification_tags[{index}]", f"duplicate tag {tag!r}")

    def _classification(self, config: ClassificationConfig) -> None:
        self.add_duplicates(CLASSIFICATION_FILE, config.classes, "id", "class id", "classes")
        for index, item in enumerate(config.classes):
            if item.id == NOT_PERSONAL:
                self.add(CLASSIFICATION_FILE, f"classes[{index}].id", f"{NOT_PERSONAL!r} is reserved for overrides")

    def _retention(self, config: RetentionConfig) -> None:
        self.add_duplicates(RETENTION_FILE, config.classes, "id", "retention class", "classes")

    def _budgets(self, config: BudgetsConfig) -> None:
        self.add_duplicates(BUDGETS_FILE, config.budgets, "team", "budget for team", "budgets")
        for index, budget in enumerate(config.budgets):
            self.team(BUDGETS_FILE, f"budgets[{index}].team", budget.team)

    def _source(self, path: Path, source: SourceConfig) -> None:
        if source.name != path.stem:
            self.add(path, "name", f"name {source.name!r} does not match the file name {path.name!r}")
        self.team(path, "owner", source.owner)
        self.retention_class(path, "retention_class", source.retention_class)
        self.overrides(path, "classification", source.classification)
        key = source.resource_key
        self.add_duplicates(path, source.resources, "name", f"{source.resource_label} name", key)
        for index, item in enumerate(source.resources):
            self.retention_class(path, f"{key}[{index}].retention_class", item.retention_class)
            self.overrides(path, f"{key}[{index}].classification", item.classification)

    def _roi(self, config: RoiConfig) -> None:
        declared = {
            raw_table(path.stem, item.name) for path, source in self.sources.items() for item in source.resources
        }
        self.add_duplicates(ROI_FILE, config.values, "id", "value id", "values")
        for index, value in enumerate(config.values):
            self.team(ROI_FILE, f"values[{index}].team", value.team)
            for position, dataset in enumerate(value.applies_to.datasets):
                source_name = dataset.removeprefix("raw.").split("__")[0]
                if dataset.startswith("raw.") and dataset not in declared and source_name not in self.invalid_sources:
                    self.add(
                        ROI_FILE,
                        f"values[{index}].applies_to.datasets[{position}]",
                        f"unknown raw dataset {dataset!r}: no source declares it (raw.<source>__<table>)",
                    )

    def _approvals(self, config: ApprovalsConfig) -> None:
        self.add_duplicates(APPROVALS_FILE, config.policies, "subject", "policy for subject", "policies")
        covered = {policy.subject for policy in config.policies}
        for subject in SUBJECT_KINDS:
            if subject not in covered:
                self.add(APPROVALS_FILE, "policies", f"no policy for subject {subject!r}")
        for index, policy in enumerate(config.policies):
            for position, approver in enumerate(policy.approvers):
                self.team(APPROVALS_FILE, f"policies[{index}].approvers[{position}]", approver.team, approver.role)
            if self.teams is None:
                continue
            eligible = {
                member.id
                for approver in policy.approvers
                if approver.team in self.teams
                for member in self.teams[approver.team].members_with(approver.role)
            }
            # with separation of duties the requester may be an approver, and cannot approve
            needed = policy.min_approvals + (1 if policy.separation_of_duties else 0)
            if eligible and needed > len(eligible):
                reason = " besides the requester (separation of duties)" if policy.separation_of_duties else ""
                self.add(
                    APPROVALS_FILE,
                    f"policies[{index}].min_approvals",
                    f"needs {policy.min_approvals} approval(s){reason} but only {len(eligible)} member(s) may approve",
                )


# --------------------------------------------------------------------------- loading

_TOP_LEVEL: dict[str, type[BaseModel]] = {
    TEAMS_FILE: TeamsConfig,
    DAG_POLICY_FILE: DagPolicy,
    CLASSIFICATION_FILE: ClassificationConfig,
    RETENTION_FILE: RetentionConfig,
    BUDGETS_FILE: BudgetsConfig,
    ROI_FILE: RoiConfig,
    APPROVALS_FILE: ApprovalsConfig,
}


def _resolve(path: Path | None) -> Path:
    return (path if path is not None else settings.governance_dir()).resolve()


def check_governance(path: Path | None = None) -> GovernanceReport:
    """Read and check every governance file under ``path`` (default: the project's folder).

    Never raises for bad content: every problem is in the report.
    """
    directory = _resolve(path)
    problems: list[Problem] = []
    files: list[Path] = []
    parsed: dict[str, Any] = {}
    for name, model in _TOP_LEVEL.items():
        file = directory / name
        if not file.is_file():
            problems.append(Problem(file, "", "missing required file"))
            continue
        files.append(file)
        data = _read_yaml(file, problems)
        if data is not None:
            result = _validate(model, data, file, problems)
            if result is not None:
                parsed[name] = result

    sources: dict[Path, SourceConfig] = {}
    source_dir = directory / SOURCES_DIR
    if source_dir.is_dir():
        for file in sorted(source_dir.iterdir()):
            if file.suffix == ".yml":
                problems.append(Problem(file, "", "source files must end in .yaml (this one is ignored)"))
            if file.suffix != ".yaml" or not file.is_file():
                continue
            files.append(file)
            data = _read_yaml(file, problems)
            if data is not None:
                result = _validate(Source, data, file, problems, tagged=True)
                if result is not None:
                    sources[file] = result

    source_files = [file for file in files if file.parent == source_dir]
    problems.extend(_CrossCheck(directory, parsed, sources, source_files).run())
    # one file's problems together: policy files in their usual order, then sources by name
    order = {directory / name: index for index, name in enumerate(_TOP_LEVEL)}
    problems.sort(key=lambda problem: (order.get(problem.path, len(order)), str(problem.path)))
    governance = None
    if not problems:
        governance = Governance(
            directory=directory,
            teams=parsed[TEAMS_FILE],
            dag_policy=parsed[DAG_POLICY_FILE],
            classification=parsed[CLASSIFICATION_FILE],
            retention=parsed[RETENTION_FILE],
            budgets=parsed[BUDGETS_FILE],
            roi=parsed[ROI_FILE],
            approvals=parsed[APPROVALS_FILE],
            sources={source.name: source for source in sources.values()},
        )
    return GovernanceReport(directory, tuple(files), tuple(problems), governance)


def validate_governance(path: Path | None = None) -> list[Problem]:
    """Every problem in the governance files under ``path``; empty when all is valid."""
    return list(check_governance(path).problems)


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, mtime and size of each governance file: a cheap "has anything changed" key."""
    candidates = [directory / name for name in _TOP_LEVEL]
    source_dir = directory / SOURCES_DIR
    if source_dir.is_dir():
        candidates.extend(sorted(source_dir.glob("*.y*ml")))
    marks = []
    for file in candidates:
        try:
            stat = file.stat()
        except FileNotFoundError:
            continue
        marks.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(marks)


@functools.lru_cache(maxsize=8)
def _load_cached(directory: Path, fingerprint: tuple[tuple[str, int, int], ...]) -> Governance:
    report = check_governance(directory)
    if report.governance is None:
        raise GovernanceError(report.problems)
    log.debug("Loaded governance config from %s (%d files)", directory, len(report.files))
    return report.governance


def load_governance(path: Path | None = None) -> Governance:
    """The validated governance config under ``path`` (default: the project's folder).

    Cached per folder until one of its files changes. Raises :class:`GovernanceError`
    (a :class:`ConfigError`) naming every problem when anything is invalid.
    """
    directory = _resolve(path)
    return _load_cached(directory, _fingerprint(directory))


def clear_cache() -> None:
    """Forget loaded governance configs (tests, long-lived processes after a deploy)."""
    _load_cached.cache_clear()


def load_dag_policy(path: Path | None = None) -> DagPolicy:
    """The DAG policy the cluster policy enforces."""
    return load_governance(path).dag_policy


def team_ids(path: Path | None = None) -> frozenset[str]:
    """Ids of the declared teams (valid DAG owners)."""
    return load_governance(path).team_ids


def load_sources(path: Path | None = None) -> dict[str, SourceConfig]:
    """Declared sources by name (one per ``governance/sources/<name>.yaml``)."""
    return dict(load_governance(path).sources)


def load_source(name: str, path: Path | None = None) -> SourceConfig:
    """The source ``name``; ConfigError when it is not declared."""
    governance = load_governance(path)
    try:
        return governance.source(name)
    except KeyError as err:
        raise ConfigError(_known("source", name, governance.sources)) from err
