"""One small exception hierarchy for the whole package.

Gates raise these; observers catch them, log a warning and carry on.
"""

from __future__ import annotations


class ScrollIntelError(Exception):
    """Base class of every error the platform raises on purpose."""


class ConfigError(ScrollIntelError):
    """Governance or platform configuration is invalid; the message names file and key."""


class DatabaseError(ScrollIntelError):
    """A database could not be reached, created or migrated."""


class PlatformError(ScrollIntelError):
    """The local platform (embedded PostgreSQL, Airflow processes) could not be started or stopped."""


class GateFailed(ScrollIntelError):
    """A gate (health, quality, contract, policy) failed; the message says what failed and where."""
