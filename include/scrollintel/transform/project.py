"""The dbt project and its manifest: where they live, building the manifest, reading it.

The ``transform_warehouse`` DAG is rendered from dbt's ``manifest.json`` (cosmos
``LoadMode.DBT_MANIFEST``): reading a file is what keeps parsing the DAG fast, where ``dbt ls``
would run dbt on every parse. The manifest is a build artifact, made by ``dbt parse`` (which reads
the project and opens no database connection): ``make run`` builds it before the dag-processor
starts, ``scrollintel transform manifest`` rebuilds it after a change to the dbt project, and an
image for production builds it at image build time. Without it the DAG does not load, and its
import error says how to build it (see governance/adr/0007-dbt-with-cosmos.md).

Layout under the platform state folder (``SCROLLINTEL_DBT_STATE_DIR`` overrides it)::

    .scrollintel/dbt/manifest.json   the published manifest the DAG reads (replaced atomically)
    .scrollintel/dbt/target/         dbt's own target path (partial parse state, perf info)
    .scrollintel/dbt/logs/           dbt's log
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrollintel import settings
from scrollintel.transform.errors import ManifestBuildFailed, ManifestNotFound, TransformConfigError
from scrollintel.warehouse import MARTS_SCHEMA, RAW_SCHEMA, raw_table

log = logging.getLogger(__name__)

#: Overrides where the manifest and dbt's parse state live (default: ``<state dir>/dbt``).
ENV_DBT_STATE_DIR = "SCROLLINTEL_DBT_STATE_DIR"
#: ``name`` in dbt_project.yml, ``profile`` it asks for and the target cosmos generates.
PROJECT_NAME = "scrollintel"
PROFILE_NAME = "scrollintel"
TARGET_NAME = "warehouse"
#: The schemas dbt reads from and builds the business tables in.
#: The command that builds the manifest (named in error messages).
BUILD_COMMAND = "scrollintel transform manifest"

#: ``dbt parse`` validates the profile but connects to nothing: these values are never used.
_PARSE_PROFILE = {
    PROFILE_NAME: {
        "target": TARGET_NAME,
        "outputs": {
            TARGET_NAME: {
                "type": "postgres",
                "host": "parse-only.invalid",
                "port": 5432,
                "user": "parse-only",
                "password": "",
                "dbname": "warehouse",
                "schema": "staging",
                "threads": 1,
            }
        },
    }
}


def project_dir() -> Path:
    """The dbt project (``dbt/`` in the repository)."""
    return settings.project_root() / "dbt"


def project_var(name: str) -> Any:
    """A ``vars:`` entry of ``dbt_project.yml``: the one home of a dbt default Python also needs.

    Raises:
        TransformConfigError: the project declares no such var.
    """
    import yaml

    path = project_dir() / "dbt_project.yml"
    declared = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {}
    if name not in declared:
        raise TransformConfigError(f"{path}: vars has no {name!r}")
    return declared[name]


def dbt_state_dir() -> Path:
    """Where the manifest and dbt's parse state live."""
    configured = os.environ.get(ENV_DBT_STATE_DIR)
    return Path(configured).resolve() if configured else settings.state_dir() / "dbt"


def manifest_path() -> Path:
    """The published manifest the DAG is rendered from."""
    return dbt_state_dir() / "manifest.json"


def require_manifest(path: Path | None = None) -> Path:
    """``path`` (default :func:`manifest_path`) when it exists; else ManifestNotFound saying how to build it."""
    path = path or manifest_path()
    if not path.is_file():
        raise ManifestNotFound(
            f"dbt manifest not found at {path}: the transform_warehouse DAG is rendered from it. Build it with "
            f"`{BUILD_COMMAND}` (`make run` does this before starting Airflow; set {ENV_DBT_STATE_DIR} when the "
            "manifest lives elsewhere)"
        )
    return path


def build_manifest(state_dir: Path | None = None) -> Path:
    """Run ``dbt parse`` on the project and publish its manifest atomically; returns the manifest path.

    dbt keeps its partial-parse state in ``<state>/target``, so a rebuild after a small change
    takes seconds. The DAG reads ``<state>/manifest.json``, replaced in one rename: a DAG parse
    running at the same moment reads the old or the new manifest, never half of one.
    """
    import yaml
    from dbt.cli.main import dbtRunner

    state = state_dir or dbt_state_dir()
    target = state / "target"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scrollintel-dbt-profile-") as profiles:
        Path(profiles, "profiles.yml").write_text(yaml.safe_dump(_PARSE_PROFILE), encoding="utf-8")
        result = dbtRunner().invoke(
            [
                "--no-send-anonymous-usage-stats",
                "--quiet",
                "parse",
                "--project-dir",
                str(project_dir()),
                "--profiles-dir",
                profiles,
                "--target-path",
                str(target),
                "--log-path",
                str(state / "logs"),
            ]
        )
    built = target / "manifest.json"
    if not result.success or not built.is_file():
        raise ManifestBuildFailed(
            f"dbt parse of {project_dir()} failed: {result.exception or 'see the errors above'} "
            f"(dbt log: {state / 'logs' / 'dbt.log'})"
        )
    published = state / "manifest.json"
    staging = published.with_suffix(".json.tmp")
    staging.write_bytes(built.read_bytes())
    staging.replace(published)
    log.info("dbt manifest built: %s", published)
    return published


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    """The parsed manifest (ManifestNotFound when it was not built)."""
    path = require_manifest(path)
    with path.open(encoding="utf-8") as handle:
        manifest: dict[str, Any] = json.load(handle)
    return manifest


@dataclass(frozen=True, order=True)
class RawSource:
    """A raw table a dbt source points at: ``raw.<source>__<resource>``."""

    source: str
    resource: str

    @property
    def table(self) -> str:
        """``raw.<source>__<resource>``."""
        return raw_table(self.source, self.resource)


def raw_sources(manifest: Mapping[str, Any]) -> list[RawSource]:
    """The raw tables the project's dbt sources read, sorted; TransformConfigError for a misnamed one."""
    found: set[RawSource] = set()
    for unique_id, node in manifest.get("sources", {}).items():
        if node.get("package_name") != PROJECT_NAME or node.get("schema") != RAW_SCHEMA:
            continue
        identifier = node.get("identifier") or node.get("name") or ""
        source, _, resource = identifier.partition("__")
        if not source or not resource:
            raise TransformConfigError(
                f"dbt source {unique_id} reads {RAW_SCHEMA}.{identifier}, which is not named "
                "<source>__<resource> like the tables ingestion lands"
            )
        found.add(RawSource(source, resource))
    return sorted(found)


def mart_models(manifest: Mapping[str, Any]) -> list[str]:
    """Names of the project's models built in the ``marts`` schema, sorted."""
    return sorted(
        node["name"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and node.get("package_name") == PROJECT_NAME
        and node.get("schema") == MARTS_SCHEMA
    )
