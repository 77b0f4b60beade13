"""Loading the governance folder: every file read, validated and cross-checked, cached until a file changes."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scrollintel import settings
from scrollintel.config.approvals import ApprovalsConfig
from scrollintel.config.budgets import BudgetsConfig
from scrollintel.config.classification import ClassificationConfig
from scrollintel.config.crosscheck import CrossCheck, unknown_message
from scrollintel.config.dag_policy import DagPolicy
from scrollintel.config.governance import (
    APPROVALS_FILE,
    BUDGETS_FILE,
    CLASSIFICATION_FILE,
    DAG_POLICY_FILE,
    MODELS_FILE,
    RETENTION_FILE,
    ROI_FILE,
    SOURCES_DIR,
    TEAMS_FILE,
    Governance,
)
from scrollintel.config.models import ModelsConfig
from scrollintel.config.problems import GovernanceError, Problem
from scrollintel.config.reader import read_yaml, validate
from scrollintel.config.retention import RetentionConfig
from scrollintel.config.roi import RoiConfig
from scrollintel.config.sources import Source, SourceConfig
from scrollintel.config.teams import TeamsConfig
from scrollintel.exceptions import ConfigError

log = logging.getLogger(__name__)


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


_TOP_LEVEL: dict[str, type[BaseModel]] = {
    TEAMS_FILE: TeamsConfig,
    DAG_POLICY_FILE: DagPolicy,
    CLASSIFICATION_FILE: ClassificationConfig,
    RETENTION_FILE: RetentionConfig,
    BUDGETS_FILE: BudgetsConfig,
    ROI_FILE: RoiConfig,
    APPROVALS_FILE: ApprovalsConfig,
    MODELS_FILE: ModelsConfig,
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
        data = read_yaml(file, problems)
        if data is not None:
            result = validate(model, data, file, problems)
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
            data = read_yaml(file, problems)
            if data is not None:
                result = validate(Source, data, file, problems, tagged=True)
                if result is not None:
                    sources[file] = result

    source_files = [file for file in files if file.parent == source_dir]
    problems.extend(CrossCheck(directory, parsed, sources, source_files).run())
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
            models=parsed[MODELS_FILE],
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
        raise ConfigError(unknown_message("source", name, governance.sources)) from err
