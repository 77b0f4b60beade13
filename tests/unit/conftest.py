"""Fixtures of the unit tests that more than one folder uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scrollintel.config import clear_cache

#: The repository's own governance folder.
REPO_GOVERNANCE = Path(__file__).resolve().parents[2] / "governance"


@pytest.fixture
def gov(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's governance folder; messages show paths relative to tmp_path."""
    target = tmp_path / "governance"
    shutil.copytree(REPO_GOVERNANCE, target, ignore=shutil.ignore_patterns("adr", "*.md"))
    monkeypatch.chdir(tmp_path)
    clear_cache()
    return target
