"""PID-file process management: start once, stop exactly what was started."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from scrollintel.platform.processes import ManagedProcess

pytestmark = pytest.mark.unit


def _sleeper(tmp_path: Path) -> ManagedProcess:
    return ManagedProcess(
        "sleeper",
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        tmp_path / "run",
        tmp_path / "logs",
    )


def test_start_twice_starts_once_and_stop_stops_it(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path)
    first = proc.start(dict(os.environ), tmp_path)
    assert proc.start(dict(os.environ), tmp_path) == first
    assert proc.pid() == first
    started_at = proc.started_at()
    assert started_at is not None and abs(started_at - time.time()) < 60, "when the running process began"
    deadline = time.monotonic() + 30
    while "up" not in proc.log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "up" in proc.log_file.read_text(), "the process writes to its log file"
    assert proc.stop(timeout=5) is True
    assert proc.pid() is None
    assert proc.started_at() is None
    assert not proc.pid_file.exists()
    assert proc.stop() is False


def test_stale_pid_file_of_another_process_is_ignored(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path)
    proc.run_dir.mkdir(parents=True)
    # Our own PID with a wrong start time: a reused PID must never be signalled.
    proc.pid_file.write_text(f"{os.getpid()} 12345.0")
    assert proc.pid() is None
    assert proc.stop() is False
    assert not proc.pid_file.exists()
