"""Errors of the quality gates (all under :class:`scrollintel.exceptions.ScrollIntelError`)."""

from __future__ import annotations

from scrollintel.exceptions import ConfigError, GateFailed, ScrollIntelError


class QualityError(ScrollIntelError):
    """A quality check could not run (the warehouse or a dataset is missing); nothing was judged."""


class SuiteError(ConfigError):
    """An expectation suite file is invalid; the message names the file and the key."""


class QualityGateFailed(GateFailed):
    """At least one dataset failed its suite; the message lists datasets, expectations and result files."""
