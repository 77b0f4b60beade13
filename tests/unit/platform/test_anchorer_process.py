"""`make run` starts the audit anchorer like its other background processes (and `make status` lists it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrollintel.platform import launcher

pytestmark = pytest.mark.unit


def test_the_anchorer_is_a_managed_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    procs = {proc.name: proc for proc in launcher.managed_processes(launcher.layout())}

    anchorer = procs["audit-anchorer"]

    assert anchorer.command[-2:] == ["audit", "anchorer"]
    assert anchorer.command[0].endswith("scrollintel")
    assert anchorer.log_file.name == "audit-anchorer.log"
    assert launcher.status()["audit-anchorer"] == "stopped"
