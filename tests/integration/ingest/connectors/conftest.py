"""Real servers for the connector tests: MariaDB, HTTP apps under uvicorn, moto's S3 server.

MariaDB: the server at ``SCROLLINTEL_TEST_MYSQL_URL`` (``mysql://user:password@host:port``, a user
that may create databases) when set; otherwise a throwaway ``mariadbd`` started from the
machine's binaries under a temporary folder (as the ``mysql`` user when we are root). Where
neither is possible the MySQL tests are skipped, and the reason says so loudly.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from scrollintel.platform.postgres import free_port

ENV_MYSQL_URL = "SCROLLINTEL_TEST_MYSQL_URL"
HOST = "127.0.0.1"


def make_connection(conn_id: str, conn_type: str, **fields: Any) -> Any:
    """An Airflow connection object, as a task would get from ``BaseHook.get_connection``."""
    from airflow.sdk import Connection

    extra = fields.pop("extra", None)
    return Connection(
        conn_id=conn_id, conn_type=conn_type, extra=json.dumps(extra) if extra is not None else None, **fields
    )


# --------------------------------------------------------------------------- HTTP apps


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class FaultInjector:
    """ASGI wrapper answering a share of the requests under ``prefix`` with 429 or 5xx instead of the app.

    Deterministic (seeded). 429 answers carry ``Retry-After: 0`` so tests stay fast while the
    client still goes through its Retry-After path. ``injected`` counts faults by status.
    """

    STATUSES = (429, 500, 502, 503, 504)

    def __init__(self, app: Any, *, rate: float = 0.1, prefix: str = "/", seed: int = 1) -> None:
        import random

        self.app = app
        self.rate = rate
        self.prefix = prefix
        self.rng = random.Random(seed)
        self.injected: dict[int, int] = {}
        self.passed = 0

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            if self.rng.random() < self.rate:
                status = self.rng.choice(self.STATUSES)
                self.injected[status] = self.injected.get(status, 0) + 1
                headers = [(b"content-type", b"application/json")]
                if status == 429:
                    headers.append((b"retry-after", b"0"))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": b'{"error": {"message": "injected fault"}}'})
                return
            self.passed += 1
        await self.app(scope, receive, send)


# --------------------------------------------------------------------------- MariaDB


@dataclass
class MysqlServer:
    """A MySQL/MariaDB server the tests may create databases on."""

    host: str
    port: int
    user: str
    password: str
    created: list[str] = field(default_factory=list)

    def connect(self, database: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            autocommit=True,
            charset="utf8mb4",
        )

    def create_database(self) -> str:
        name = f"t_{secrets.token_hex(4)}"
        with self.connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self.created.append(name)
        return name

    def execute(self, database: str, *statements: str, rows: list[tuple[Any, ...]] | None = None) -> None:
        """Run statements; with ``rows``, the last statement is an executemany insert."""
        with self.connect(database) as conn, conn.cursor() as cursor:
            cursor.execute("SET time_zone = '+00:00'")
            for index, statement in enumerate(statements):
                if rows is not None and index == len(statements) - 1:
                    cursor.executemany(statement, rows)
                else:
                    cursor.execute(statement)

    def connection(self, conn_id: str = "mysql_test", **overrides: Any) -> Any:
        options: dict[str, Any] = {"host": self.host, "port": self.port, "login": self.user, "password": self.password}
        options.update(overrides)
        return make_connection(conn_id, "mysql", **options)

    def drop_created(self) -> None:
        with self.connect() as conn, conn.cursor() as cursor:
            for name in self.created:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def _binary(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((path for path in fallbacks if Path(path).exists()), None)


@contextmanager
def _throwaway_mariadb() -> Iterator[MysqlServer]:
    import pymysql

    server_bin = _binary("mariadbd", "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
    install_bin = _binary("mariadb-install-db", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db")
    if not server_bin or not install_bin:
        raise FileNotFoundError("no mariadbd / mariadb-install-db binaries on this machine")
    root = Path(tempfile.mkdtemp(prefix="scrollintel-testmariadb-"))
    user: str | None = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("mysql").pw_name
        except KeyError:
            user = "root"  # mariadbd refuses root unless told explicitly
        if user != "root":
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
    data, socket_path = root / "data", root / "mysqld.sock"
    user_args = [f"--user={user}"] if user else []
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                install_bin,
                "--no-defaults",
                f"--datadir={data}",
                *user_args,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        port = free_port()
        process = subprocess.Popen(
            [
                server_bin,
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={socket_path}",
                f"--port={port}",
                f"--bind-address={HOST}",
                f"--pid-file={root / 'mysqld.pid'}",
                f"--log-error={root / 'error.log'}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=128M",
                "--innodb-flush-log-at-trx-commit=2",
                *user_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        password = secrets.token_urlsafe(16)
        deadline = time.monotonic() + 60
        while True:
            try:
                admin = pymysql.connect(unix_socket=str(socket_path), user="root", password="", autocommit=True)
                break
            except pymysql.err.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "error.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"mariadbd did not start:\n{log}") from None
                time.sleep(0.2)
        with admin, admin.cursor() as cursor:
            cursor.execute(f"CREATE USER 'scrollintel'@'{HOST}' IDENTIFIED BY %s", (password,))
            cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO 'scrollintel'@'{HOST}'")
        yield MysqlServer(host=HOST, port=port, user="scrollintel", password=password)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[MysqlServer]:
    """A real MySQL/MariaDB server: SCROLLINTEL_TEST_MYSQL_URL, else a throwaway mariadbd."""
    given = os.environ.get(ENV_MYSQL_URL)
    if given:
        parts = urlsplit(given)
        server = MysqlServer(
            host=parts.hostname or HOST,
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
        )
        yield server
        server.drop_created()
        return
    try:
        context = _throwaway_mariadb()
        server = context.__enter__()
    except (OSError, RuntimeError, subprocess.SubprocessError) as err:
        reason = (
            f"MYSQL/MARIADB CONNECTOR NOT TESTED: no server could be started ({type(err).__name__}: {err}); "
            f"install MariaDB server binaries or set {ENV_MYSQL_URL}=mysql://user:password@host:port"
        )
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


# --------------------------------------------------------------------------- S3 (moto)


@dataclass
class S3Server:
    """moto's S3 over HTTP on loopback."""

    endpoint_url: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def create_bucket(self) -> str:
        name = f"bucket-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name)
        return name

    def connection(self, bucket: str, prefix: str = "", conn_id: str = "aws_test") -> Any:
        extra = {"endpoint_url": self.endpoint_url, "region_name": "us-east-1", "bucket": bucket, "prefix": prefix}
        return make_connection(conn_id, "aws", login="testing", password="testing", extra=extra)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's standalone server (ThreadedMotoServer) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        yield S3Server(endpoint_url=f"http://{HOST}:{port}")
    finally:
        server.stop()


# --------------------------------------------------------------------------- PostgreSQL (the chunks' reader)


@pytest.fixture(scope="session")
def copy_target(pg_server: Any) -> Any:
    """``copy(schema, chunks) -> rows``: COPY chunks into a fresh table typed by the schema, read it back.

    This is the proof that a chunk is what PostgreSQL parses: the rows come back typed by
    psycopg (session time zone UTC), ordered by the first column.
    """
    import psycopg

    dsn = pg_server.create_database().replace("postgresql+psycopg://", "postgresql://")

    def copy(schema: Any, chunks: Any, *, order_by: str | None = None, binary: bool = False) -> list[tuple[Any, ...]]:
        table = f"t_{secrets.token_hex(4)}"
        columns = ", ".join(f'"{column.name}" {column.pg_type}' for column in schema.columns)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute(f"CREATE TABLE {table} ({columns})")
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY {table} FROM STDIN (FORMAT {'binary' if binary else 'csv'})") as stream,
            ):
                for chunk in chunks:
                    stream.write(chunk.data)
            order = f'"{order_by}"' if order_by else "1"
            return list(conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall())

    return copy
