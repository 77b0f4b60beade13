"""Expectation suites: ``expectations/<dataset>.json``, read and checked before anything runs.

A suite is a Great Expectations 1.x suite document, named after the dataset it guards
(``raw.shop__orders``, ``marts.customers``)::

    {"name": "marts.orders",
     "meta": {"description": "..."},
     "expectations": [
       {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "order_id"}},
       {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1},
        "meta": {"scrollintel": {"volume": {"history": 10, "max_drop": 0.5, "max_growth": 1.0}}}},
       {"type": "expect_column_max_to_be_between", "kwargs": {"column": "ordered_at"},
        "meta": {"scrollintel": {"freshness": {"max_age_hours": 72}}}}
     ]}

Two expectations get their bounds at run time (see :mod:`scrollintel.quality.bounds`), declared
under ``meta.scrollintel``:

* ``volume`` on ``expect_table_row_count_to_be_between``: the row count must lie within a band
  around the median row count of the dataset's recent successful gate runs;
* ``freshness`` on ``expect_column_max_to_be_between``: the column's newest value must not be
  older than ``max_age_hours`` before the reference instant (the gate's *as-of*, or now).

``meta.scrollintel.scope: "table"`` marks an expectation that only makes sense on the whole
table (volume, freshness and cross-table checks are table-scoped by nature): the ingestion
batch gate, which validates only the rows one load landed, skips those.

:func:`load_suite` checks the document's shape without importing GX (fast, for the unit tests and
``make validate``); :func:`check_with_gx` builds every expectation with GX itself, so an unknown
type or a wrong keyword fails here, naming the file and the expectation, not in the middle of a run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scrollintel import settings
from scrollintel.quality.errors import SuiteError

EXPECTATIONS_DIR = "expectations"
#: ``<schema>.<table>``, as the warehouse names them (lower case, no quoting needed).
DATASET_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
VOLUME_TYPE = "expect_table_row_count_to_be_between"
FRESHNESS_TYPE = "expect_column_max_to_be_between"
#: Expectations a GX 1.24 checkpoint cannot store, with what to use instead.
UNSUPPORTED_TYPES = {
    "expect_column_quantile_values_to_be_between": (
        "its result holds numpy booleans that GX 1.24 fails to serialise when a checkpoint stores it; "
        "use expect_column_median_to_be_between, expect_column_mean_to_be_between or "
        "expect_column_stdev_to_be_between"
    ),
}


class VolumeRule(BaseModel):
    """Row count against recent history: within ``[median x (1 - max_drop), median x (1 + max_growth)]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    history: int = Field(default=10, ge=1, le=100, description="how many recent successful runs make the median")
    min_history: int = Field(default=3, ge=1, le=100, description="fewer runs than this: the static kwargs apply")
    max_drop: float = Field(default=0.5, gt=0, lt=1, description="largest allowed fall below the median (0.5 = half)")
    max_growth: float = Field(default=1.0, gt=0, description="largest allowed rise above the median (1.0 = double)")

    @model_validator(mode="after")
    def _enough_history(self) -> VolumeRule:
        if self.min_history > self.history:
            raise ValueError(f"min_history ({self.min_history}) cannot exceed history ({self.history})")
        return self


class FreshnessRule(BaseModel):
    """The newest value of the column is at most ``max_age_hours`` older than the reference instant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_hours: float = Field(gt=0)
    reference: Literal["as_of", "now"] = Field(
        default="as_of",
        description="as_of: the instant the data is observed at (the gate's as-of); now: the wall clock",
    )


class ScrollIntelMeta(BaseModel):
    """What ``meta.scrollintel`` of one expectation may say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Literal["any", "table"] = "any"
    volume: VolumeRule | None = None
    freshness: FreshnessRule | None = None

    @property
    def table_only(self) -> bool:
        """Only meaningful on the whole table (the ingestion batch gate skips it)."""
        return self.scope == "table" or self.volume is not None or self.freshness is not None


class ExpectationMeta(BaseModel):
    """An expectation's ``meta``: anything GX keeps, plus the ``scrollintel`` rules."""

    model_config = ConfigDict(extra="allow", frozen=True)

    scrollintel: ScrollIntelMeta = ScrollIntelMeta()


class ExpectationSpec(BaseModel):
    """One expectation as written in a suite file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    notes: str | list[str] | None = None
    meta: ExpectationMeta = ExpectationMeta()

    @model_validator(mode="after")
    def _rules_fit_the_type(self) -> ExpectationSpec:
        if self.type in UNSUPPORTED_TYPES:
            raise ValueError(f"{self.type} is not supported: {UNSUPPORTED_TYPES[self.type]}")
        if self.type == "unexpected_rows_expectation" and "{batch}" not in str(
            self.kwargs.get("unexpected_rows_query", "")
        ):
            # GX only warns; without {batch} the query would not look at the dataset being validated
            raise ValueError("unexpected_rows_query must select FROM {batch} (the dataset being validated)")
        rules = self.meta.scrollintel
        if rules.volume is not None and self.type != VOLUME_TYPE:
            raise ValueError(f"meta.scrollintel.volume only applies to {VOLUME_TYPE}, not {self.type}")
        if rules.freshness is not None:
            if self.type != FRESHNESS_TYPE:
                raise ValueError(f"meta.scrollintel.freshness only applies to {FRESHNESS_TYPE}, not {self.type}")
            if not isinstance(self.kwargs.get("column"), str):
                raise ValueError("meta.scrollintel.freshness needs kwargs.column (the timestamp or date column)")
        return self

    @property
    def rules(self) -> ScrollIntelMeta:
        """The ``meta.scrollintel`` rules of this expectation."""
        return self.meta.scrollintel

    def as_gx(self, kwargs: dict[str, Any] | None = None, note: str | None = None) -> dict[str, Any]:
        """The expectation as GX reads it (``kwargs`` replaces the written ones; ``note`` is added to meta)."""
        meta = self.meta.model_dump(mode="json", exclude_defaults=True)
        if note:
            meta["bounds"] = note
        out: dict[str, Any] = {"type": self.type, "kwargs": dict(self.kwargs if kwargs is None else kwargs)}
        if self.description:
            out["description"] = self.description
        if self.notes:
            out["notes"] = self.notes
        if meta:
            out["meta"] = meta
        return out


class SuiteDocument(BaseModel):
    """A suite file: its name (the dataset), a description and at least one expectation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    meta: dict[str, Any] = Field(default_factory=dict)
    expectations: list[ExpectationSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Suite:
    """A checked suite file and the dataset it guards."""

    dataset: str
    path: Path
    document: SuiteDocument

    @property
    def expectations(self) -> list[ExpectationSpec]:
        """Every expectation, in file order."""
        return list(self.document.expectations)

    def batch_expectations(self) -> list[dict[str, Any]]:
        """The expectations that hold for any subset of rows (for the ingestion batch gate), as GX dicts."""
        return [spec.as_gx() for spec in self.document.expectations if not spec.rules.table_only]


def suites_dir(root: Path | None = None) -> Path:
    """The folder of the suites: ``<project>/expectations``."""
    return (root or settings.project_root()) / EXPECTATIONS_DIR


def suite_path(dataset: str, root: Path | None = None) -> Path:
    """Where the suite guarding ``dataset`` lives (it may not exist)."""
    return suites_dir(root) / f"{dataset}.json"


def check_dataset_name(dataset: str) -> str:
    """``dataset`` when it is ``<schema>.<table>``; else :class:`SuiteError` naming it."""
    if not isinstance(dataset, str) or not DATASET_PATTERN.match(dataset):
        raise SuiteError(f"dataset {dataset!r}: expected <schema>.<table> in lower case, e.g. marts.orders")
    return dataset


def _display(path: Path) -> str:
    from scrollintel.config.problems import display_path

    return display_path(path)


def load_suite(path: Path) -> Suite:
    """Read and check the suite at ``path``.

    Raises:
        SuiteError: the file cannot be read, is not JSON, or a key is wrong; the message is
            ``<file>:<key path>: <problem>``, e.g. ``expectations/marts.orders.json:expectations[2].kwargs: ...``.
    """
    from scrollintel.config.reader import format_location

    shown = _display(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SuiteError(f"{shown}: expectation suite cannot be read: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise SuiteError(f"{shown}: expectation suite is not UTF-8 text: {err.reason}") from err
    except json.JSONDecodeError as err:
        raise SuiteError(f"{shown}:{err.lineno}: expectation suite is not valid JSON: {err.msg}") from err
    if not isinstance(raw, dict):
        raise SuiteError(f"{shown}: expectation suite must be a JSON object with 'name' and 'expectations'")
    try:
        document = SuiteDocument.model_validate(raw)
    except ValidationError as err:
        lines = [
            f"{shown}:{format_location(error['loc'])}: {error['msg']}"
            + (f" (got {error['input']!r})" if error["type"] not in ("missing", "model_type") else "")
            for error in err.errors(include_url=False)
        ]
        raise SuiteError("\n".join(lines)) from err
    if document.name != path.stem:
        raise SuiteError(
            f"{shown}:name: the suite is named {document.name!r} but guards {path.stem!r} "
            "(a suite is named after its dataset, like its file)"
        )
    check_dataset_name(path.stem)
    return Suite(dataset=path.stem, path=path, document=document)


def load_suites(datasets: list[str], root: Path | None = None) -> list[Suite]:
    """The suites of ``datasets``, in order; :class:`SuiteError` for a bad name, a repeat, a missing or invalid file."""
    repeated = sorted({name for name in datasets if datasets.count(name) > 1})
    if repeated:
        raise SuiteError(f"datasets listed more than once: {', '.join(repeated)}")
    suites = []
    for dataset in datasets:
        path = suite_path(check_dataset_name(dataset), root)
        if not path.is_file():
            raise SuiteError(f"no expectation suite for {dataset}: expected {_display(path)}")
        suites.append(load_suite(path))
    return suites


def all_suite_paths(root: Path | None = None) -> list[Path]:
    """Every suite file in the expectations folder, sorted by dataset."""
    folder = suites_dir(root)
    return sorted(folder.glob("*.*.json")) if folder.is_dir() else []


def check_with_gx(suite: Suite) -> None:
    """Build every expectation of ``suite`` with GX; :class:`SuiteError` names the file, index and key.

    Catches what only GX knows: unknown expectation types, missing or unknown keywords, values
    of the wrong type. Imports GX (seconds).
    """
    from scrollintel.quality.gxutil import import_gx

    import_gx()
    from great_expectations.exceptions import GreatExpectationsError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from pydantic.v1 import ValidationError as GxValidationError

    shown = _display(suite.path)
    problems: list[str] = []
    for index, spec in enumerate(suite.document.expectations):
        where = f"{shown}:expectations[{index}]"
        config = spec.as_gx(_placeholder_kwargs(spec))
        try:
            ExpectationConfiguration(
                type=config["type"], kwargs=config["kwargs"], description=config.get("description")
            ).to_domain_obj()
        except GxValidationError as err:
            for error in err.errors():
                key = ".".join(str(part) for part in error["loc"])
                problems.append(f"{where}.kwargs.{key}: {error['msg']} ({spec.type})")
        except GreatExpectationsError as err:
            problems.append(f"{where}.type: {err} ({spec.type!r} is not a GX 1.x expectation)")
        except (ValueError, TypeError) as err:
            problems.append(f"{where}.kwargs: {err} ({spec.type})")
    if problems:
        raise SuiteError("\n".join(problems))


def _placeholder_kwargs(spec: ExpectationSpec) -> dict[str, Any]:
    """Kwargs with stand-ins for the bounds the runner computes, so GX checks the rest."""
    kwargs = dict(spec.kwargs)
    if spec.rules.volume is not None:
        kwargs.setdefault("min_value", 0)
    if spec.rules.freshness is not None:
        kwargs.setdefault("min_value", "2000-01-01")
    return kwargs
