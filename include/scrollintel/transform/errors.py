"""Errors of the transformation layer (all under :class:`scrollintel.exceptions.ScrollIntelError`)."""

from __future__ import annotations

from scrollintel.exceptions import ConfigError, ScrollIntelError


class TransformError(ScrollIntelError):
    """dbt could not be prepared or run."""


class ManifestNotFound(TransformError):
    """The dbt manifest the DAG is rendered from has not been built; the message says how to build it."""


class ManifestBuildFailed(TransformError):
    """``dbt parse`` failed; the message carries dbt's own errors."""


class TransformConfigError(ConfigError):
    """The dbt project and the governance config disagree (a dbt source no governance source declares)."""
