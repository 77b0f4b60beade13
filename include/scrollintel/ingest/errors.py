"""Errors of the ingestion engine (all under :class:`scrollintel.exceptions.ScrollIntelError`).

Gates (schema contract, counts) raise; each message says what failed, where, and what to do
about it. The batch quality gate raises the quality capability's
:class:`~scrollintel.quality.errors.QualityGateFailed`. Failures of the systems a load talks to
(a connection that is not defined, a database backend that went away) are raised as these
errors too, with a one-line message naming the source, the resource and what to do, so the CLI
and the Airflow task log say the same thing and neither shows a traceback for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scrollintel.exceptions import ConfigError, DatabaseError, GateFailed, ScrollIntelError


class IngestError(ScrollIntelError):
    """A load could not be done; nothing was committed."""


class ResourceConfigError(ConfigError):
    """A source's YAML does not match the source (missing primary key or cursor column, name too long)."""


class ConnectorUnavailable(IngestError):
    """No connector module exists (yet) for a source type, or it could not be imported."""


class UnsupportedServerError(DatabaseError):
    """The warehouse's PostgreSQL is too old for the loader."""


class SchemaDriftError(GateFailed):
    """The source's schema differs from its registered contract and the policy forbids the change.

    ``changes`` (``SchemaDiff.as_dicts()``) and ``contract_version`` say what drifted from what;
    ``approvable`` is True when only the ``freeze`` policy stands in the way (every change is one
    ``evolve`` could apply), so a ``schema_change`` approval may let it through.
    """

    def __init__(
        self,
        message: str,
        *,
        changes: Sequence[Mapping[str, Any]] = (),
        contract_version: int | None = None,
        approvable: bool = False,
    ) -> None:
        super().__init__(message)
        self.changes = [dict(change) for change in changes]
        self.contract_version = contract_version
        self.approvable = approvable


class CountMismatchError(IngestError):
    """Rows read from the source differ from rows loaded plus rows quarantined (the load is rolled back)."""


class ConnectionNotDefined(ConfigError):
    """A source's Airflow connection is not defined where the load runs."""


class LoadInterrupted(IngestError):
    """The source or the warehouse failed mid-load (backend terminated, server gone, query refused).

    ``side`` is ``"source"`` or ``"warehouse"``. The load's one transaction was not committed, so
    the raw table, the quarantine and the cursor are as before: running the load again is safe.
    """

    def __init__(self, message: str, *, side: str) -> None:
        super().__init__(message)
        self.side = side
