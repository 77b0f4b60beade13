"""Errors of the lineage store (all under :class:`scrollintel.exceptions.ScrollIntelError`).

The HTTP layer turns each into a status code: :class:`InvalidEvent` 400, :class:`PayloadTooLarge`
413, :class:`InvalidNodeId` 400, :class:`NodeNotFound` 404, :class:`StoreFailure` 500.
"""

from __future__ import annotations

from scrollintel.exceptions import ScrollIntelError


class LineageError(ScrollIntelError):
    """Base class of the lineage store's errors."""


class InvalidEvent(LineageError):
    """An OpenLineage event does not follow the spec; ``field`` is the path of the failing field.

    The path is written the way a reader finds it in the JSON: ``run.runId``,
    ``outputs[0].facets.columnLineage.fields.email.inputFields[1].field``; ``$`` is the event itself.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PayloadTooLarge(LineageError):
    """A request body is larger than the store accepts in one request."""


class InvalidNodeId(LineageError):
    """A ``nodeId`` is not ``dataset:<namespace>:<name>``, ``job:<namespace>:<name>`` or ``datasetField:...``."""


class NodeNotFound(LineageError):
    """No dataset, job or field with that node id is in the store."""


class StoreFailure(LineageError):
    """The store failed on one event for a reason of its own (not the event's, not the database's).

    Raised for that event alone: the other events written with it are retried without it.
    """
