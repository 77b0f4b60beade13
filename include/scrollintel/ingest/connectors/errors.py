"""Errors a connector raises when a source cannot be read.

The loader lets them fail the task: nothing of the failed extraction is committed and the
cursor stays where it was, so the next run starts from the same place.
"""

from __future__ import annotations

from scrollintel.exceptions import ScrollIntelError


class SourceError(ScrollIntelError):
    """A source could not be read (unreachable, refused the request, returned something unusable)."""


class SourceAuthError(SourceError):
    """The source rejected the connection's credentials (HTTP 401/403, access denied).

    Never retried: the same credentials will be rejected again, and retrying only delays the
    alert (and may lock the account).
    """


class SourceChangedError(SourceError):
    """A file changed while it was being read; the next run reads it again from the start."""
