"""What the governance side knows about lineage nodes: owners, classification and quality.

**Owners** (first rule that gives an answer):

- datasets: an ``ownership`` facet naming teams of ``governance/teams.yaml`` (or other owners, kept
  as named); a raw table ``warehouse.raw.<source>__<resource>`` -> the ``owner`` of
  ``governance/sources/<source>.yaml``; a staging or mart model -> the ``meta.owner`` of the dbt
  model when its YAML sets one, else the team answering for ``transform`` in ``teams.yaml``; a
  source-system table read by an ingestion job (``ingest_<source>.*``) -> that source's owner;
- jobs: the ``ownership`` job facet (Airflow's provider sends the DAG owner, a team id here);
  else ``ingest_<source>.*`` -> the source's owner.

**Classification**: ``governance.column_classification`` for raw tables (class, masking policy,
sensitivity) and ``tags`` facets with key ``classification``; inherited classes come from
:mod:`scrollintel.lineage.pii`.

**Quality**: the latest gate verdict per ``<schema>.<table>`` dataset, read through the quality
capability (:func:`scrollintel.quality.query.latest_outcomes`); nothing when its tables do not
exist yet or cannot be read.

Nothing here may fail a lineage read: configuration problems are logged once and mean "no owner".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from scrollintel.lineage.nodes import FieldClass
from scrollintel.warehouse import GOVERNANCE_SCHEMA, RAW_SCHEMA, WAREHOUSE_DATABASE, warehouse_namespace

log = logging.getLogger(__name__)

RAW_SCHEMAS = (RAW_SCHEMA, "raw_quarantine")
DBT_SCHEMAS = ("staging", "marts")
INGEST_PREFIX = "ingest_"


def warehouse_parts(namespace: str, name: str) -> tuple[str, str] | None:
    """(schema, table) of a warehouse dataset ``warehouse.<schema>.<table>``; None for anything else."""
    parts = name.split(".")
    if namespace != warehouse_namespace() or len(parts) != 3 or parts[0] != WAREHOUSE_DATABASE:
        return None
    return parts[1], parts[2]


# --------------------------------------------------------------------------- owners


@dataclass(frozen=True)
class Owner:
    """A team answering for a dataset or job, and why it is the owner."""

    team: str
    name: str | None
    slack_channel: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "name": self.name, "slackChannel": self.slack_channel, "reason": self.reason}


@dataclass(frozen=True)
class OwnerDirectory:
    """Teams, source owners and dbt model owners from the governance folder and the dbt project."""

    teams: Mapping[str, tuple[str, str]]
    source_owners: Mapping[str, str]
    transform_owner: str | None
    dbt_owners: Mapping[str, str]

    def owner(self, team_id: str, reason: str) -> Owner:
        name, channel = self.teams.get(team_id, (None, None))
        return Owner(team_id, name, channel, reason)

    def for_dataset(
        self, namespace: str, name: str, facets: Mapping[str, Any], readers: Iterable[str] = ()
    ) -> list[Owner]:
        """Owners of a dataset (see the module docstring); ``readers`` are names of jobs reading it."""
        from_facet = self._from_facet(facets, "ownership facet")
        if from_facet:
            return from_facet
        parts = warehouse_parts(namespace, name)
        if parts is not None:
            schema, table = parts
            raw_source = table.split("__", 1)[0]
            if schema in RAW_SCHEMAS and raw_source in self.source_owners:
                return [self.owner(self.source_owners[raw_source], f"governance/sources/{raw_source}.yaml owner")]
            if schema in DBT_SCHEMAS:
                if table in self.dbt_owners:
                    return [self.owner(self.dbt_owners[table], f"dbt model {table} meta.owner")]
                if self.transform_owner:
                    return [self.owner(self.transform_owner, "governance/teams.yaml owners.transform (dbt models)")]
            return []
        for job in readers:
            reader_source = _ingest_source(job)
            if reader_source is not None and reader_source in self.source_owners:
                reason = f"source system of governance/sources/{reader_source}.yaml"
                return [self.owner(self.source_owners[reader_source], reason)]
        return []

    def for_job(self, name: str, facets: Mapping[str, Any]) -> list[Owner]:
        """Owners of a job: its ``ownership`` facet (the DAG owner), else its ingestion source's owner."""
        from_facet = self._from_facet(facets, "DAG owner (ownership facet)")
        if from_facet:
            return from_facet
        source = _ingest_source(name)
        if source is not None and source in self.source_owners:
            return [self.owner(self.source_owners[source], f"governance/sources/{source}.yaml owner")]
        return []

    def _from_facet(self, facets: Mapping[str, Any], reason: str) -> list[Owner]:
        facet = facets.get("ownership") if isinstance(facets, Mapping) else None
        owners = facet.get("owners") if isinstance(facet, Mapping) else None
        found = []
        for item in owners or ():
            raw = str(item.get("name", "")) if isinstance(item, Mapping) else ""
            team = raw.removeprefix("team:")
            if team:
                found.append(self.owner(team, reason))
        return found


def _ingest_source(job_name: str) -> str | None:
    dag_id = job_name.split(".", 1)[0]
    return dag_id.removeprefix(INGEST_PREFIX) if dag_id.startswith(INGEST_PREFIX) else None


def owner_directory() -> OwnerDirectory:
    """The directory for the current governance folder and dbt project (cached until a file changes)."""
    from scrollintel import settings

    governance_dir = settings.governance_dir()
    dbt_models = settings.project_root() / "dbt" / "models"
    return _directory(str(governance_dir), _fingerprint(governance_dir), str(dbt_models), _fingerprint(dbt_models))


def _fingerprint(folder: Path) -> tuple[tuple[str, int], ...]:
    if not folder.is_dir():
        return ()
    return tuple(sorted((str(path), path.stat().st_mtime_ns) for path in folder.rglob("*.y*ml")))


@lru_cache(maxsize=4)
def _directory(governance_dir: str, _g: object, dbt_models: str, _d: object) -> OwnerDirectory:
    from scrollintel.config import load_governance
    from scrollintel.exceptions import ConfigError

    try:
        governance = load_governance(Path(governance_dir))
    except ConfigError as err:
        log.warning("lineage: no owners, the governance config is invalid: %s", str(err).splitlines()[0])
        return OwnerDirectory({}, {}, None, dbt_model_owners(Path(dbt_models)))
    return OwnerDirectory(
        teams={team.id: (team.name, team.slack_channel) for team in governance.teams.teams},
        source_owners={name: source.owner for name, source in governance.sources.items()},
        transform_owner=governance.teams.owners.transform,
        dbt_owners=dbt_model_owners(Path(dbt_models)),
    )


def dbt_model_owners(models_dir: Path) -> dict[str, str]:
    """Model name -> ``meta.owner`` (or ``config.meta.owner``) from the dbt project's model YAML files."""
    import yaml

    owners: dict[str, str] = {}
    for path in sorted(models_dir.rglob("*.yml")) if models_dir.is_dir() else ():
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            log.warning("lineage: cannot read dbt model owners from %s: %s", path, err)
            continue
        for model in document.get("models") or () if isinstance(document, dict) else ():
            if not isinstance(model, dict) or not model.get("name"):
                continue
            meta = model.get("meta") or (model.get("config") or {}).get("meta") or {}
            if isinstance(meta, dict) and meta.get("owner"):
                owners[str(model["name"])] = str(meta["owner"])
    return owners


# --------------------------------------------------------------------------- classification


def stored_classes(conn: Any, field_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, FieldClass]:
    """Classified columns known to the store: ``column_classification`` of raw tables, then ``tags`` facets.

    Limited to ``field_ids`` when given. The masking policy and sensitivity of a tagged class come
    from ``governance/classification.yaml``.
    """
    ids = None if field_ids is None else list(field_ids)
    found: dict[uuid.UUID, FieldClass] = {}
    rows = conn.execute(
        f"""
        SELECT f.id, c.class_id, c.sensitivity, c.masking
        FROM {GOVERNANCE_SCHEMA}.column_classification c
        JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d
          ON d.namespace = %(namespace)s AND d.name = %(database)s || '.raw.' || c.source || '__' || c.resource
        JOIN {GOVERNANCE_SCHEMA}.lineage_dataset_field f ON f.dataset_id = d.id AND f.name = c.column_name
        WHERE c.class_id IS NOT NULL AND (%(ids)s::uuid[] IS NULL OR f.id = ANY(%(ids)s::uuid[]))
        """,
        {"namespace": warehouse_namespace(), "database": WAREHOUSE_DATABASE, "ids": ids},
    )
    for field_id, class_id, sensitivity, masking in rows:
        found[field_id] = FieldClass(class_id, sensitivity, masking, "governance.column_classification")
    policies = _class_policies()
    tagged = conn.execute(
        f"""
        SELECT f.id, tag->>'value'
        FROM {GOVERNANCE_SCHEMA}.lineage_dataset d
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(d.facets->'tags'->'tags') = 'array' THEN d.facets->'tags'->'tags' ELSE '[]' END
        ) AS tag
        JOIN {GOVERNANCE_SCHEMA}.lineage_dataset_field f ON f.dataset_id = d.id AND f.name = tag->>'field'
        WHERE d.facets ? 'tags' AND tag->>'key' = 'classification'
          AND (%(ids)s::uuid[] IS NULL OR f.id = ANY(%(ids)s::uuid[]))
        """,
        {"ids": ids},
    )
    for field_id, class_id in tagged:
        if field_id not in found and class_id:
            sensitivity, masking = policies.get(class_id, (None, None))
            found[field_id] = FieldClass(class_id, sensitivity, masking, "tags facet")
    return found


def _class_policies() -> dict[str, tuple[str, str]]:
    """Class id -> (sensitivity, masking policy) from governance/classification.yaml (empty if invalid)."""
    from scrollintel.config import load_governance
    from scrollintel.exceptions import ConfigError

    try:
        classes = load_governance().classification.classes
    except ConfigError:
        return {}
    return {item.id: (item.sensitivity, item.masking) for item in classes}


# --------------------------------------------------------------------------- quality


@dataclass(frozen=True)
class QualityStatus:
    """The latest data quality result of a dataset."""

    status: str
    checked_at: Any
    table: str

    def as_dict(self) -> dict[str, Any]:
        checked = self.checked_at
        if isinstance(checked, datetime):
            checked = checked.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {"status": self.status, "checkedAt": checked, "source": f"{GOVERNANCE_SCHEMA}.{self.table}"}


def quality_statuses(conn: Any, datasets: Iterable[str]) -> dict[str, QualityStatus]:
    """Latest quality gate verdict per ``<schema>.<table>`` dataset ({} when the quality tables cannot be read)."""
    names = sorted(set(datasets))
    if not names:
        return {}
    import psycopg

    from scrollintel.quality.query import latest_outcomes
    from scrollintel.quality.store import RUN_TABLE

    try:
        with conn.transaction():
            latest = latest_outcomes(conn, names)
    except psycopg.Error as err:
        log.info("lineage: quality status unavailable from %s: %s", RUN_TABLE, type(err).__name__)
        return {}
    table = RUN_TABLE.removeprefix(f"{GOVERNANCE_SCHEMA}.")
    return {
        item.dataset: QualityStatus("passed" if item.success else "failed", item.checked_at, table) for item in latest
    }
