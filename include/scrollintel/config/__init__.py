"""Governance policy files (``governance/*.yaml``): pydantic models, loader and validation.

Every file is validated against a strict model (unknown keys are errors), then the files are
checked against each other (team, retention class and classification references, duplicate
names). All problems are collected, each naming the file and the key (or the YAML line), so
one run of ``scrollintel validate`` shows everything that needs fixing.

One module per file's models (:mod:`.teams`, :mod:`.dag_policy`, :mod:`.classification`,
:mod:`.retention`, :mod:`.budgets`, :mod:`.roi`, :mod:`.approvals`, :mod:`.sources`), the
shared field types (:mod:`.fields`, :mod:`.duration`), the YAML reader and its messages
(:mod:`.reader`, :mod:`.problems`), the checks between files (:mod:`.crosscheck`) and the
loader (:mod:`.loader`). The loader's entry points are importable from here:

- :func:`load_governance` — the validated :class:`Governance`, cached until a file changes;
  raises :class:`GovernanceError` listing every problem.
- :func:`check_governance` / :func:`validate_governance` — all problems, without raising.
- small accessors for callers that need one piece (:func:`load_dag_policy`, :func:`team_ids`,
  :func:`load_source`, :func:`load_sources`).

Only pydantic and PyYAML are imported: the DAG processor and the cluster policy call this.
"""

from __future__ import annotations

from scrollintel.config.governance import Governance
from scrollintel.config.loader import (
    GovernanceReport,
    check_governance,
    clear_cache,
    load_dag_policy,
    load_governance,
    load_source,
    load_sources,
    team_ids,
    validate_governance,
)
from scrollintel.config.problems import GovernanceError, Problem

__all__ = [
    "Governance",
    "GovernanceError",
    "GovernanceReport",
    "Problem",
    "check_governance",
    "clear_cache",
    "load_dag_policy",
    "load_governance",
    "load_source",
    "load_sources",
    "team_ids",
    "validate_governance",
]
