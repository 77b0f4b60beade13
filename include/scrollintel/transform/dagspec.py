"""What the ``transform_warehouse`` DAG is made of, read at parse time from files only.

- **Schedule**: the raw Assets of the tables the dbt project's sources read (from the manifest):
  a run starts once every table of one source has been updated (``AssetAny`` of one ``AssetAll``
  per source), i.e. once per load of a source. Each must be a table a
  ``governance/sources/*.yaml`` declares, so a dbt source nobody ingests is an import error.
- **Tasks**: the dbt project as a cosmos ``DbtTaskGroup``: one group per model with ``run`` then
  ``test`` (``TestBehavior.AFTER_EACH``), ``ExecutionMode.LOCAL`` with ``InvocationMode.DBT_RUNNER``
  (dbt runs inside the task process), the profile generated from the ``postgres_warehouse``
  connection, the masking salt injected at run time (:mod:`scrollintel.transform.session`).
  Cosmos emits OpenLineage for every dbt command through Airflow's provider.
- **Outlets**: the mart Assets ``x-scrollintel://warehouse/marts/<model>``, published by the quality
  gate after dbt, so nothing downstream runs on marts that failed their checks.
- **Tags, owner**: ``transform`` plus the highest classification tag of the sources it reads (it
  reads raw personal data); owner: the team ``governance/teams.yaml`` names for ``transform``.

Load and execution modes are measured and explained in governance/adr/0007-dbt-with-cosmos.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrollintel.config import load_governance
from scrollintel.transform import project
from scrollintel.transform.errors import TransformConfigError
from scrollintel.transform.project import RawSource
from scrollintel.warehouse import (
    MARTS_SCHEMA,
    RAW_SCHEMA,
    SENSITIVITY_LEVELS,
    WAREHOUSE_CONN_ID,
    asset_uri,
    raw_asset,
    raw_asset_uri,
)

if TYPE_CHECKING:
    from airflow.sdk import Asset, AssetAny
    from cosmos import DbtTaskGroup, LoadMode

    from scrollintel.config import Governance

DAG_ID = "transform_warehouse"
TRANSFORM_TAG = "transform"
#: The schema dbt's connection lands in when a model names none (every model here names one).
DEFAULT_SCHEMA = "staging"


def mart_asset_uri(model: str) -> str:
    """``x-scrollintel://warehouse/marts/<model>``."""
    return asset_uri(MARTS_SCHEMA, model)


def mart_asset(model: str) -> Asset:
    """The Airflow Asset of a mart table (outlet of the quality gate, schedule of downstream DAGs)."""
    from airflow.sdk import Asset

    return Asset(name=f"{MARTS_SCHEMA}.{model}", uri=mart_asset_uri(model), group=MARTS_SCHEMA)


@dataclass(frozen=True)
class TransformSpec:
    """The DAG's inputs, outputs and labels, from the manifest and the governance config."""

    manifest: Path
    raw_sources: tuple[RawSource, ...]
    marts: tuple[str, ...]
    owner: str
    classification: str

    @property
    def tags(self) -> list[str]:
        return [TRANSFORM_TAG, self.classification]

    @property
    def mart_datasets(self) -> list[str]:
        """``marts.<model>`` for each mart: what the quality gate checks."""
        return [f"{MARTS_SCHEMA}.{model}" for model in self.marts]

    def schedule(self) -> AssetAny:
        """A source whose every raw table the project reads has been updated starts a run.

        One ingestion run of a source updates each of its tables (an Asset event each): waiting
        for all of them starts one transform run per source load, not one per table, and a
        source loading hourly refreshes the marts hourly without waiting for a daily one.
        """
        from airflow.sdk import AssetAll, AssetAny

        by_source: dict[str, list[Asset]] = {}
        for item in self.raw_sources:
            by_source.setdefault(item.source, []).append(raw_asset(item.source, item.resource))
        return AssetAny(*(AssetAll(*assets) for assets in by_source.values()))

    def mart_assets(self) -> list[Asset]:
        return [mart_asset(model) for model in self.marts]

    def doc_md(self) -> str:
        """Why the DAG exists, what starts it, what it builds and where to look."""
        lines = [
            "### Transform the warehouse: raw -> staging -> marts",
            "Builds the dbt project in `dbt/` whenever ingestion updates a raw table it reads: staging views "
            "(personal data masked by the policy in `governance/classification.yaml`, driven by the classification "
            "ingestion stores) and the business marts. Each model runs, then its dbt tests; a failing test stops "
            "everything downstream of it. The quality gate then checks every mart and, only when they pass, "
            "publishes the mart Assets.",
            "",
            f"Owner `{self.owner}`; classification tag `{self.classification}` (the most sensitive source it reads). "
            f"Profile from the `{WAREHOUSE_CONN_ID}` connection; masking salt from the "
            "`warehouse_masking_salt` connection.",
            "",
            f"Rendered from the dbt manifest `{self.manifest}`; after changing the dbt project rebuild it with "
            f"`{project.BUILD_COMMAND}`.",
            "",
            "Starts when every table of one source below has been loaded again (one run per source load).",
            "",
            "| reads | Asset |",
            "| --- | --- |",
            *(f"| `{item.table}` | `{raw_asset_uri(item.source, item.resource)}` |" for item in self.raw_sources),
            "",
            "| publishes | Asset |",
            "| --- | --- |",
            *(f"| `{MARTS_SCHEMA}.{model}` | `{mart_asset_uri(model)}` |" for model in self.marts),
        ]
        return "\n".join(lines)


def transform_spec(manifest_path: Path | None = None, governance: Governance | None = None) -> TransformSpec:
    """Read the manifest and the governance config (no database, no network)."""
    governance = governance or load_governance()
    path = project.require_manifest(manifest_path)
    manifest = project.load_manifest(path)
    sources = project.raw_sources(manifest)
    levels = []
    for item in sources:
        declared = governance.sources.get(item.source)
        if declared is None or item.resource not in {resource.name for resource in declared.resources}:
            raise TransformConfigError(
                f"dbt source {item.source}.{item.resource} reads {item.table}, which no "
                f"governance/sources/{item.source}.yaml declares: ingestion never loads it, so it cannot start the "
                "transform DAG (declare it there or remove the dbt source)"
            )
        levels.append(governance.source_sensitivity(declared))
    if not sources:
        raise TransformConfigError(f"the dbt manifest {path} declares no source in the {RAW_SCHEMA} schema")
    return TransformSpec(
        manifest=path,
        raw_sources=tuple(sources),
        marts=tuple(project.mart_models(manifest)),
        owner=governance.teams.owners.transform,
        classification=max(levels, key=SENSITIVITY_LEVELS.index),
    )


def cosmos_configs(spec: TransformSpec, load_mode: LoadMode | None = None) -> dict[str, Any]:
    """Project, profile, execution and render configs for cosmos (the keyword arguments of a DbtTaskGroup)."""
    from cosmos import (
        ExecutionConfig,
        ExecutionMode,
        InvocationMode,
        LoadMode,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
        SourceRenderingBehavior,
        TestBehavior,
    )
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    from scrollintel.transform.session import inject_masking_salt

    project_config = ProjectConfig(
        dbt_project_path=project.project_dir(),
        manifest_path=spec.manifest,
        project_name=project.PROJECT_NAME,
        install_dbt_deps=False,  # no dbt packages (see dbt/README.md)
    )
    # ProjectConfig wraps the path in an ObjectStoragePath, whose first open() loads every
    # provider's filesystem and every plugin (boto3, FastAPI): ~1.5 s of a cold DAG parse for
    # a local file. The manifest is local; a plain Path is what cosmos reads it through then.
    project_config.manifest_path = spec.manifest
    return {
        "project_config": project_config,
        "profile_config": ProfileConfig(
            profile_name=project.PROFILE_NAME,
            target_name=project.TARGET_NAME,
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id=WAREHOUSE_CONN_ID, profile_args={"schema": DEFAULT_SCHEMA, "connect_timeout": 10}
            ),
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER
        ),
        "render_config": RenderConfig(
            load_method=load_mode or LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
            # Models (and, through them, their tests); not the on-run-start hook, which every dbt
            # command runs anyway and cosmos has no task for.
            select=["resource_type:model"],
            # A test reading two models (relationships) runs as its own task after both; in its
            # first model's test task it would run before the second model exists.
            should_detach_multiple_parents_tests=True,
            source_rendering_behavior=SourceRenderingBehavior.NONE,
            # The mart Assets are published by the quality gate; cosmos' own (a URI per relation with
            # the runtime host and port) would duplicate them and differ between machines.
            emit_datasets=False,
        ),
        "operator_args": {"interceptors": [inject_masking_salt]},
    }


def dbt_task_group(spec: TransformSpec, group_id: str = "dbt", load_mode: LoadMode | None = None) -> DbtTaskGroup:
    """The dbt project as a task group in the current DAG."""
    from cosmos import DbtTaskGroup

    return DbtTaskGroup(group_id=group_id, **cosmos_configs(spec, load_mode))
