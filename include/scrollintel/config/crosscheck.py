"""Checks between governance files: references to teams, retention and classification classes, and duplicates.

Only files that validated are checked; references into an invalid file are skipped (its own
errors are shown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from scrollintel.config.approvals import ApprovalsConfig
from scrollintel.config.budgets import BudgetsConfig
from scrollintel.config.classification import NOT_PERSONAL, ClassificationConfig
from scrollintel.config.dag_policy import DagPolicy
from scrollintel.config.fields import SUBJECT_KINDS
from scrollintel.config.governance import (
    APPROVALS_FILE,
    BUDGETS_FILE,
    CLASSIFICATION_FILE,
    DAG_POLICY_FILE,
    MODELS_FILE,
    RETENTION_FILE,
    ROI_FILE,
    TEAMS_FILE,
)
from scrollintel.config.models import ModelsConfig
from scrollintel.config.problems import Problem
from scrollintel.config.retention import RetentionConfig
from scrollintel.config.roi import RoiConfig
from scrollintel.config.sources import SourceConfig
from scrollintel.config.teams import TeamsConfig
from scrollintel.warehouse import SENSITIVITY_LEVELS, raw_table


def unknown_message(kind: str, value: str, known: Iterable[str], extra: str = "") -> str:
    """``unknown <kind> '<value>' (known: ...)``."""
    return f"unknown {kind} {value!r} (known: {', '.join(sorted(known))}{extra})"


class CrossCheck:
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
        """Every problem between the files."""
        checks: dict[str, Callable[[Any], None]] = {
            TEAMS_FILE: self._teams,
            DAG_POLICY_FILE: self._dag_policy,
            CLASSIFICATION_FILE: self._classification,
            RETENTION_FILE: self._retention,
            BUDGETS_FILE: self._budgets,
            ROI_FILE: self._roi,
            APPROVALS_FILE: self._approvals,
            MODELS_FILE: self._models,
        }
        for name, check in checks.items():
            if name in self.parsed:
                check(self.parsed[name])
        for path, source in self.sources.items():
            self._source(path, source)
        return self.found

    def add(self, file: str | Path, location: str, message: str) -> None:
        """Record a problem in ``file`` (a governance file name, or a source file's path)."""
        self.found.append(Problem(self.directory / file if isinstance(file, str) else file, location, message))

    def add_duplicates(self, file: str | Path, items: Iterable[Any], key: str, label: str, prefix: str) -> None:
        """Record every item whose ``key`` repeats an earlier one's, naming where the first is."""
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
        """Check that ``team_id`` is declared and, when ``role`` is given, has a member with that role."""
        if self.teams is None:
            return
        if team_id not in self.teams:
            self.add(file, location, unknown_message("team", team_id, self.teams))
        elif role is not None and not self.teams[team_id].members_with(role):
            self.add(file, location, f"team {team_id!r} has no member with role {role!r}")

    def retention_class(self, file: Path, location: str, class_id: str | None) -> None:
        """Check that ``class_id`` (when set) is a declared retention class."""
        if class_id is not None and self.retention_ids is not None and class_id not in self.retention_ids:
            self.add(file, location, unknown_message("retention class", class_id, self.retention_ids))

    def overrides(self, file: Path, location: str, overrides: dict[str, str]) -> None:
        """Check that each column override names a classification class or ``none``."""
        if self.class_ids is None:
            return
        for column, class_id in overrides.items():
            if class_id != NOT_PERSONAL and class_id not in self.class_ids:
                known = unknown_message("classification class", class_id, self.class_ids, f", or {NOT_PERSONAL!r}")
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
        actions = {item.id: item.action for item in config.classes}
        stores = config.platform
        self.add_duplicates(RETENTION_FILE, stores.tables, "table", "platform table", "platform.tables")
        self.add_duplicates(RETENTION_FILE, stores.folders, "id", "platform folder", "platform.folders")
        declared = [("tables", i, t.retention_class) for i, t in enumerate(stores.tables)]
        declared += [("folders", i, f.retention_class) for i, f in enumerate(stores.folders)]
        for kind, index, class_id in declared:
            location = f"platform.{kind}[{index}].retention_class"
            action = actions.get(class_id)
            if action is None:
                self.add(RETENTION_FILE, location, unknown_message("retention class", class_id, actions))
            elif action != "delete":
                self.add(
                    RETENTION_FILE,
                    location,
                    f"class {class_id!r} says {action!r}; platform stores take a class whose action is 'delete' "
                    "(their records are not copied elsewhere)",
                )

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

    def _models(self, config: ModelsConfig) -> None:
        self.add_duplicates(MODELS_FILE, config.models, "name", "model name", "models")
        for index, model in enumerate(config.models):
            self.team(MODELS_FILE, f"models[{index}].team", model.team)
            tables = {"features_table": model.features_table, "scoring.features_table": model.scoring.features_table}
            for key, table in tables.items():
                if table is not None and not table.startswith("marts."):
                    self.add(
                        MODELS_FILE,
                        f"models[{index}].{key}",
                        f"{table!r}: a model reads a feature table dbt builds in 'marts'",
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
