"""Errors of the audit ledger (all subclasses of :class:`scrollintel.exceptions.ScrollIntelError`)."""

from __future__ import annotations

from scrollintel.exceptions import ConfigError, GateFailed, ScrollIntelError


class AuditError(ScrollIntelError):
    """Base class of the audit ledger's errors."""


class AuditInputError(AuditError, ValueError):
    """A caller passed an event the ledger cannot record (empty action, non-JSON details, ...).

    This is a programming error in the caller, so :func:`scrollintel.audit.record` raises it
    instead of queueing the event: the message names the field and what to change.
    """


class ProofError(AuditError):
    """A proof cannot be produced (entry or tree size out of range) or its document is malformed."""


class AnchorError(AuditError):
    """A signed tree head could not be made, stored or read."""


class SigningKeyError(AnchorError, ConfigError):
    """The anchor signing key is missing or malformed; the message says where it was looked for."""


class LedgerTampered(GateFailed):
    """Verification found the ledger altered; the message names the first bad index and the kind."""
