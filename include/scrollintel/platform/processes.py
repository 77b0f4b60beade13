"""Background processes with PID files: start exactly once, stop exactly what was started.

A PID file holds ``<pid> <process start time>``; a PID alone could be reused by an unrelated
process after a reboot, so a process is ours only when both match.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started, or None when it does not exist or has exited (a zombie).

    `up` starts the processes itself and never waits on them, so one that exits stays a zombie
    until `up` returns: counting it as running hid a scheduler that died at start.
    """
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(process.create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


@dataclass(frozen=True)
class ManagedProcess:
    """One long-running command of the platform (an Airflow component, a demo service)."""

    name: str
    command: list[str]
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """PID of the running process we started, or None (stale PID files are ignored)."""
        try:
            pid_text, started_text = self.pid_file.read_text(encoding="utf-8").split()
            pid, started = int(pid_text), float(started_text)
        except (FileNotFoundError, ValueError):
            return None
        actual = _start_time(pid)
        if actual is None or abs(actual - started) > 1.0:
            return None
        return pid

    def started_at(self) -> float | None:
        """When the running process we started began (epoch seconds), or None when it is not running."""
        if self.pid() is None:
            return None
        return float(self.pid_file.read_text(encoding="utf-8").split()[1])

    def start(self, env: dict[str, str], cwd: Path) -> int:
        """Start in the background (own session, output to the log file) unless already running."""
        running = self.pid()
        if running is not None:
            return running
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        started = _start_time(proc.pid) or time.time()
        self.pid_file.write_text(f"{proc.pid} {started}", encoding="utf-8")
        log.info("started %s (pid %s), log %s", self.name, proc.pid, self.log_file)
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL after ``timeout``; True when something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        import psutil

        try:
            group = os.getpgid(pid)
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and psutil.pid_exists(pid):
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)
        # Whatever of the group is still alive (workers of a component) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True
