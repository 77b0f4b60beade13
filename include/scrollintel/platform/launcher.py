"""`make run` / `make stop`: bring the whole local platform up and down.

Order of `up` (each step idempotent, so running it twice is safe):
validate governance config -> PostgreSQL (embedded or external) -> databases and roles ->
Airflow metadata migration -> governance schema migration -> admin user -> demo sources ->
dbt manifest -> demo marketing API, demo Slack workspace, MLflow tracking server and Airflow
api-server -> wait until the execution API and then MLflow's ``/health`` answer -> scheduler,
dag-processor, triggerer and the audit anchorer -> wait for health.

``SCROLLINTEL_EXECUTOR=celery`` (ADR 0017, :mod:`scrollintel.platform.celery_service`) adds a
Redis broker, started first and waited for, and two Celery workers and Flower, started with the
scheduler; `up` then waits until both workers answer a Celery ping.

The MLflow server (:mod:`scrollintel.platform.mlflow_service`) starts with the api-server and is
waited for before the scheduler starts, so no task (platform_health's check of
``mlflow_default``, a training run) meets it still starting. It was ready before the execution
API in every measured start; what it costs is CPU while the api-server starts (its CLI and its
uvicorn worker each import MLflow): on two busy cores `up` took ~3 s longer from a clean state
and ~10 s longer on a warm start. Started earlier, while Airflow migrates, it measured no better.

The scheduler starts only once the api-server answers: a task's supervisor reports the task's
start to the execution API first, and a report that is refused or times out fails the try before
the task runs ("... finished with state failed, but the task instance's state attribute is
queued"). uvicorn binds the port at once but listens only when a worker has loaded the app, which
takes a minute or more on a busy 2-core machine.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from scrollintel import db, settings
from scrollintel.exceptions import ConfigError, PlatformError
from scrollintel.platform import celery_service, mlflow_service
from scrollintel.platform.postgres import HOST, EmbeddedPostgres, free_port
from scrollintel.platform.processes import ManagedProcess

log = logging.getLogger(__name__)

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: Started before everything else; the rest start once the api-server's execution API answers.
STARTED_FIRST = (celery_service.BROKER_PROCESS, "marketing-api", "slack-workspace", "mlflow", "api-server")
ADMIN_USER = "admin"
HEALTH_TIMEOUT_S = 240.0

Reporter = Callable[[str], None]

#: Airflow's own metadata database setting; when a user sets it (and no SCROLLINTEL_DATABASE_URL),
#: its server is used for every database and no embedded server is started.
ENV_AIRFLOW_DB = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
#: Where `adopt_airflow_database_setting` keeps the user's value for the Airflow processes.
ENV_USER_AIRFLOW_DB = "SCROLLINTEL_AIRFLOW_DATABASE_URL"
#: Set in .scrollintel/platform.env, so a shell that sourced it is not mistaken for a user setting.
ENV_EMBEDDED_MARKER = "SCROLLINTEL_EMBEDDED_DATABASE"
#: A second DAG folder (its own DAG bundle, ``extra-dags``) beside ``dags/``: DAGs of your own, or a
#: test's, without touching the platform's DAG list.
ENV_EXTRA_DAGS = "SCROLLINTEL_EXTRA_DAGS_FOLDER"
#: Set in the shell, it wins over the platform's "False": a quiet platform for tests and benchmarks.
ENV_PAUSED_AT_CREATION = "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"


def adopt_airflow_database_setting() -> None:
    """Honour Airflow's own ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` as the external server.

    Airflow metadata stays where the user pointed it; the warehouse, MLflow and demo databases
    are created beside it on the same server.
    """
    given = os.environ.get(ENV_AIRFLOW_DB)
    if not given or settings.external_database_url() or os.environ.get(ENV_EMBEDDED_MARKER):
        return
    os.environ[settings.ENV_DATABASE_URL] = db.normalise_url(given)
    os.environ[ENV_USER_AIRFLOW_DB] = db.normalise_url(given)


@dataclass(frozen=True)
class Layout:
    """Where the platform keeps its local state."""

    state: Path

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def airflow_home(self) -> Path:
        return self.state / "airflow"

    @property
    def secrets_file(self) -> Path:
        return self.state / "secrets.json"

    @property
    def ports_file(self) -> Path:
        return self.state / "ports.json"

    @property
    def env_file(self) -> Path:
        return self.state / "platform.env"


def layout() -> Layout:
    return Layout(settings.state_dir())


def _bin(name: str) -> str:
    """An executable of this environment (airflow, scrollintel), next to the interpreter."""
    return str(Path(sys.executable).parent / name)


def _load_or_create_json(path: Path, defaults: dict[str, Callable[[], object]]) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    changed = False
    for key, make in defaults.items():
        if key not in data:
            data[key] = make()
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
    return data


def platform_secrets(lay: Layout) -> dict[str, str]:
    """Generated once per checkout, kept in the git-ignored state folder (mode 0600)."""

    def fernet() -> str:
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    data = _load_or_create_json(
        lay.secrets_file,
        {
            "fernet_key": fernet,
            "jwt_secret": lambda: secrets.token_urlsafe(32),
            "api_secret_key": lambda: secrets.token_urlsafe(32),
            "admin_password": lambda: os.environ.get("SCROLLINTEL_ADMIN_PASSWORD") or secrets.token_urlsafe(12),
            "marketing_api_key": lambda: secrets.token_urlsafe(24),
            "audit_api_password": lambda: secrets.token_urlsafe(24),
            "cost_api_password": lambda: secrets.token_urlsafe(24),
            "team_password": lambda: os.environ.get("SCROLLINTEL_TEAM_PASSWORD") or secrets.token_urlsafe(12),
            "lineage_api_key": lambda: secrets.token_urlsafe(32),
            "slack_bot_token": lambda: "xoxb-demo-" + secrets.token_hex(16),
            "slack_signing_secret": lambda: secrets.token_hex(32),
            "masking_salt": lambda: secrets.token_hex(32),
            "redis_password": lambda: secrets.token_urlsafe(24),
        },
    )
    return {key: str(value) for key, value in data.items()}


#: The port each service prefers when it is free (None: any free port). Redis never takes the usual
#: 6379: a system Redis may hold it.
USUAL_PORTS: dict[str, int | None] = {
    "api_server": 8080,
    "marketing": 8765,
    "slack": 8766,
    "worker_log_server": 8793,
    "trigger_log_server": 8794,
    "mlflow": 5000,
    "redis": None,
    "flower": 5555,
}


def platform_ports(lay: Layout, *, prefer_usual: bool = True) -> dict[str, int]:
    """Ports chosen once (preferring the usual ones when free) and reused while still free.

    ``prefer_usual=False`` takes any free ports: two platforms started at the same moment (the test
    suite's) would otherwise both see 8080 free and both take it.
    """
    choose: dict[str, Callable[[], object]] = {
        key: partial(free_port, usual if prefer_usual else None) for key, usual in USUAL_PORTS.items()
    }
    data = _load_or_create_json(lay.ports_file, choose)
    return {key: int(value) for key, value in data.items()}  # type: ignore[call-overload]


def refresh_ports(lay: Layout, report: Reporter) -> None:
    """Before a start from stopped: replace every remembered port that something else now holds.

    Without this, a second platform (another checkout, a test run) that took a port while this
    one was stopped would answer our health checks and our logins.
    """
    if any(proc.pid() is not None for proc in managed_processes(lay)):
        return  # running (or partly): its processes hold their ports
    ports = platform_ports(lay)
    changed = {key: free_port() for key, port in ports.items() if free_port(port) != port}
    if changed:
        for key, port in changed.items():
            report(f"    port {ports[key]} ({key}) is taken; using {port}")
        lay.ports_file.write_text(json.dumps({**ports, **changed}, indent=2), encoding="utf-8")


def _conn_uri(url: str) -> str:
    """Airflow connection URI for a SQLAlchemy URL (Airflow's postgres hook wants ``postgres://``)."""
    return "postgres://" + url.split("://", 1)[1]


def slack_env(api: str, keys: dict[str, str], port: int) -> dict[str, str]:
    """The Slack connection, pointed at the demo Slack workspace, and that workspace's settings.

    The approval gates post through the Airflow connection ``slack_api_default`` (bot token,
    extras ``base_url`` and ``signing_secret``): here its ``base_url`` is the demo workspace
    started beside the platform; with a real Slack app the same connection has Slack's token and
    signing secret and no ``base_url`` (README: approvals in Slack).
    """
    from scrollintel.approvals.slack import SIGNING_SECRET_EXTRA, SLACK_CONN_ID
    from scrollintel.demo.slack_workspace import ENV_BOT_TOKEN, ENV_SIGNING_SECRET

    connection = {
        "conn_type": "slack",
        "password": keys["slack_bot_token"],
        "extra": {"base_url": f"http://{HOST}:{port}/api/", SIGNING_SECRET_EXTRA: keys["slack_signing_secret"]},
    }
    return {
        f"AIRFLOW_CONN_{SLACK_CONN_ID.upper()}": json.dumps(connection),
        ENV_BOT_TOKEN: keys["slack_bot_token"],
        ENV_SIGNING_SECRET: keys["slack_signing_secret"],
        "SCROLLINTEL_SLACK_INTERACTIVITY_URL": f"{api}/scrollintel/slack/interactivity",
    }


def airflow_env(lay: Layout) -> dict[str, str]:
    """Environment of every Airflow process: config, connections and platform settings."""
    root = settings.project_root()
    keys = platform_secrets(lay)
    ports = platform_ports(lay)
    api = f"http://{HOST}:{ports['api_server']}"
    env = {
        "AIRFLOW_HOME": str(lay.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The platform's DAGs are its job: they run on their schedules from the first start
        # (unless the shell says otherwise: ENV_PAUSED_AT_CREATION).
        ENV_PAUSED_AT_CREATION: os.environ.get(ENV_PAUSED_AT_CREATION) or "False",
        # Two cores: four concurrent task processes is the most that stays responsive (four
        # LocalExecutor slots, or two Celery workers with two slots each: executor_env).
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
        "AIRFLOW__CORE__AUTH_MANAGER": "scrollintel.platform.auth_manager.ScrollIntelAuthManager",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get(ENV_USER_AIRFLOW_DB) or db.database_url("airflow"),
        "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": "airflow.providers.fab.auth_manager.models.db.FABDBManager",
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__PORT": str(ports["api_server"]),
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__WORKERS": "2",
        "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        **execution_api_client_env(),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(lay.logs / "airflow"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_log_server"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_log_server"]),
        **lineage_env(api, keys, db.database_url("warehouse")),
        "AIRFLOW_CONN_POSTGRES_WAREHOUSE": _conn_uri(db.database_url("warehouse")),
        "AIRFLOW_CONN_POSTGRES_SHOP": _conn_uri(db.database_url("shop", role=_shop_reader_role())),
        "AIRFLOW_CONN_HTTP_MARKETING": json.dumps(
            {
                "conn_type": "http",
                "host": HOST,
                "port": ports["marketing"],
                "schema": "http",
                "password": keys["marketing_api_key"],
                # An authenticated call, so the health check proves the API key works too.
                "extra": {"health_path": "/v1/campaigns?limit=1"},
            }
        ),
        **airflow_api_env(ports["api_server"], keys),
        "AIRFLOW_CONN_FS_OBJECT_STORE": json.dumps(
            {"conn_type": "fs", "extra": {"path": str(settings.object_store_dir())}}
        ),
        **mlflow_env(ports["mlflow"]),
        settings.ENV_PROJECT_ROOT: str(root),
        settings.ENV_HOME: str(lay.state),
        "SCROLLINTEL_MARKETING_API_KEY": keys["marketing_api_key"],
        **slack_env(api, keys, ports["slack"]),
        "SCROLLINTEL_API_URL": api,
        **({} if settings.external_database_url() else {ENV_EMBEDDED_MARKER: "1"}),
        **{key: value for key, value in os.environ.items() if key in (settings.ENV_DATABASE_URL, ENV_USER_AIRFLOW_DB)},
        "NO_PROXY": "*",
        "no_proxy": "*",
        **transform_env(lay, keys),
        **dag_bundles_env(root),
        **executor_env(lay, keys, ports),
    }
    return env


def dag_bundles_env(root: Path) -> dict[str, str]:
    """With :data:`ENV_EXTRA_DAGS`, a second local DAG bundle ``extra-dags`` beside the platform's ``dags/``."""
    extra = os.environ.get(ENV_EXTRA_DAGS)
    if not extra:
        return {}
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles = [
        {"name": "dags-folder", "classpath": local, "kwargs": {}},
        {"name": "extra-dags", "classpath": local, "kwargs": {"path": str(Path(extra).resolve())}},
    ]
    return {"AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles)}


def celery_mode() -> bool:
    """True when `up` starts the Celery executor (``SCROLLINTEL_EXECUTOR=celery``)."""
    return settings.executor() == "celery"


def check_executor() -> bool:
    """Before anything starts: the executor setting is valid and, in Celery mode, a broker can be had.

    Returns True in Celery mode. Raises ConfigError (unknown executor) or PlatformError (no
    ``redis-server`` and no ``SCROLLINTEL_CELERY_BROKER_URL``: the message says what to install).
    """
    if not celery_mode():
        return False
    if not celery_service.external_broker_url():
        celery_service.redis_server_binary()
    return True


def broker_url(keys: dict[str, str], ports: dict[str, int]) -> str:
    """The user's broker (``SCROLLINTEL_CELERY_BROKER_URL``) or the Redis server the platform starts."""
    return celery_service.external_broker_url() or celery_service.redis_url(
        HOST, ports["redis"], keys["redis_password"]
    )


def executor_env(lay: Layout, keys: dict[str, str], ports: dict[str, int]) -> dict[str, str]:
    """LocalExecutor's four slots, or the Celery executor with its broker and Flower (ADR 0017)."""
    if not celery_mode():
        return {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}
    return celery_service.airflow_settings(broker_url(keys, ports), HOST, ports["flower"])


def mlflow_env(port: int) -> dict[str, str]:
    """The connection ``mlflow_default`` to the tracking server, its UI's URL (the nav link), MLflow client settings."""
    from scrollintel.ml.tracking import MLFLOW_CONN_ID

    return {
        f"AIRFLOW_CONN_{MLFLOW_CONN_ID.upper()}": mlflow_service.connection(HOST, port),
        mlflow_service.ENV_UI_URL: os.environ.get(mlflow_service.ENV_UI_URL) or f"http://{HOST}:{port}",
        **mlflow_service.CLIENT_ENV,
    }


def execution_api_client_env() -> dict[str, str]:
    """How long a task's supervisor (and the triggerer) waits for, and retries, the execution API.

    Airflow's defaults (5 s per request, 5 tries with random exponential waits of 1-8 s: given up
    after ~10-15 s) are sized for a server with cores to spare. On a 2-core machine that is starting
    the platform or running four tasks, the api-server answered a task's start report after more
    than 5 s and tries failed before their task ran (httpx.ReadTimeout; Airflow issues 53797 and
    56571). 30 s per request and 8 tries (waits capped at 30 s, ~50 s in all on average) ride that
    out; a duplicate start report after a timed-out one is accepted by the server, so retrying is safe.
    """
    return {
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "8",
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX": "30",
    }


def transform_env(lay: Layout, keys: dict[str, str]) -> dict[str, str]:
    """dbt through cosmos: the masking salt connection, the as-of, cosmos' cache in the state folder, no telemetry."""
    from scrollintel.demo import AS_OF
    from scrollintel.transform.session import MASKING_SALT_CONN_ID

    return {
        f"AIRFLOW_CONN_{MASKING_SALT_CONN_ID.upper()}": json.dumps(
            {"conn_type": "generic", "password": keys["masking_salt"]}
        ),
        # The demo data describes the world at demo.AS_OF: dbt's windows and the quality gate's
        # freshness are measured at that instant unless the user sets another (or an empty one: now).
        settings.ENV_AS_OF: os.environ.get(settings.ENV_AS_OF, AS_OF.isoformat()),
        "AIRFLOW__COSMOS__CACHE_DIR": str(lay.state / "cosmos"),
        # Neither cosmos nor dbt reports usage anywhere from a governance platform.
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def build_dbt_manifest(env: dict[str, str], report: Reporter) -> None:
    """``dbt parse`` into the state folder: the transform DAG is rendered from its manifest."""
    output = _run([_bin("scrollintel"), "transform", "manifest"], env, "building the dbt manifest")
    report("    " + output.strip())


ENV_OPENLINEAGE_TRANSPORT = "AIRFLOW__OPENLINEAGE__TRANSPORT"


def lineage_env(api: str, keys: dict[str, str], warehouse_url: str | None = None) -> dict[str, str]:
    """Airflow's OpenLineage provider posts to the platform's own lineage store, with its API key.

    The store answers Marquez's ``POST /api/v1/lineage`` under the governance app's prefix on the
    api-server; the key is the password of the connection ``scrollintel_lineage``, which the store
    checks (README: how to send to Marquez instead, or to both).
    """
    from scrollintel.lineage.apikey import CONN_ID
    from scrollintel.lineage.openlineage_events import ENV_NAMESPACE_ALIASES

    key = keys["lineage_api_key"]
    # A transport the user exported (Marquez instead, or a composite one to both) is kept.
    transport = os.environ.get(ENV_OPENLINEAGE_TRANSPORT) or json.dumps(
        {
            "type": "http",
            "url": f"{api}{settings.WEB_URL_PREFIX}/",
            "endpoint": "api/v1/lineage",
            "auth": {"type": "api_key", "apiKey": key},
            "timeout": 5,
        }
    )
    return {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "scrollintel",
        ENV_OPENLINEAGE_TRANSPORT: transport,
        ENV_NAMESPACE_ALIASES: json.dumps(warehouse_namespace_aliases(warehouse_url) if warehouse_url else {}),
        f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps({"conn_type": "generic", "password": key}),
    }


def warehouse_namespace_aliases(url: str) -> dict[str, str]:
    """The names producers give the warehouse in lineage (its host and port) -> ingestion's logical one.

    dbt through cosmos names datasets by the server it connects to; ingestion by
    ``postgres://warehouse:5432`` so that names survive a port change or a move to another host.
    """
    from sqlalchemy.engine import make_url

    from scrollintel.warehouse import warehouse_namespace

    parsed = make_url(url)
    port = parsed.port or 5432
    hosts = {parsed.host or "localhost"}
    if hosts & {"127.0.0.1", "localhost", "::1"}:
        hosts |= {"127.0.0.1", "localhost"}
    logical = warehouse_namespace()
    return {f"postgres://{host}:{port}": logical for host in sorted(hosts) if f"postgres://{host}:{port}" != logical}


def _shop_reader_role() -> str | None:
    return db.runtime_role("shop")


def child_env(lay: Layout) -> dict[str, str]:
    env = {**os.environ, **airflow_env(lay)}
    env.pop("VIRTUAL_ENV_PROMPT", None)
    return env


def celery_processes(lay: Layout) -> list[ManagedProcess]:
    """The Celery mode's broker (unless the user runs one), workers and Flower."""
    ports = platform_ports(lay)
    airflow = _bin("airflow")
    procs = []
    if not celery_service.external_broker_url():
        procs.append(
            ManagedProcess(celery_service.BROKER_PROCESS, celery_service.broker_command(lay.state), lay.run, lay.logs)
        )
    for worker in celery_service.WORKERS:
        procs.append(
            ManagedProcess(worker.process, celery_service.worker_command(airflow, worker, lay.run), lay.run, lay.logs)
        )
    procs.append(
        ManagedProcess(
            celery_service.FLOWER_PROCESS,
            celery_service.flower_command(airflow, HOST, ports["flower"], lay.run),
            lay.run,
            lay.logs,
        )
    )
    return procs


def _celery_processes_in_use(lay: Layout) -> list[ManagedProcess]:
    """The Celery processes `up` starts in Celery mode; otherwise those still running from an earlier start.

    So `status` and `down` see a Celery platform even from a shell without ``SCROLLINTEL_EXECUTOR``.
    """
    try:
        wanted = celery_mode()
    except ConfigError:
        wanted = False
    if wanted:
        return celery_processes(lay)
    # Found by their PID files, only to be listed and stopped: no command (no redis-server needed here).
    names = [celery_service.BROKER_PROCESS, *(w.process for w in celery_service.WORKERS), celery_service.FLOWER_PROCESS]
    candidates = [ManagedProcess(name, [], lay.run, lay.logs) for name in names]
    return [proc for proc in candidates if proc.pid() is not None]


def managed_processes(lay: Layout) -> list[ManagedProcess]:
    """Everything `up` starts in the background, in start order."""
    ports = platform_ports(lay)
    celery = _celery_processes_in_use(lay)
    procs = [
        *(proc for proc in celery if proc.name == celery_service.BROKER_PROCESS),
        ManagedProcess(
            "marketing-api",
            [_bin("scrollintel"), "demo", "serve-marketing", "--host", HOST, "--port", str(ports["marketing"])],
            lay.run,
            lay.logs,
        ),
        # The demo Slack workspace: approval requests land there, its buttons answer them.
        ManagedProcess(
            "slack-workspace",
            [_bin("scrollintel"), "demo", "serve-slack", "--host", HOST, "--port", str(ports["slack"])],
            lay.run,
            lay.logs,
        ),
        # Tracking server and model registry (scrollintel.platform.mlflow_service): loopback only.
        ManagedProcess(
            "mlflow",
            mlflow_service.server_command(HOST, ports["mlflow"], mlflow_service.artifacts_destination()),
            lay.run,
            lay.logs,
        ),
        # Signs a tree head within seconds of every append (see scrollintel.audit.anchorer).
        ManagedProcess("audit-anchorer", [_bin("scrollintel"), "audit", "anchorer"], lay.run, lay.logs),
    ]
    for component in AIRFLOW_COMPONENTS:
        procs.append(ManagedProcess(component, [_bin("airflow"), component], lay.run, lay.logs))
    procs.extend(proc for proc in celery if proc.name != celery_service.BROKER_PROCESS)
    return procs


@contextmanager
def step(report: Reporter, title: str) -> Iterator[None]:
    """Report a step with its wall time."""
    started = time.monotonic()
    report(f"  - {title} ...")
    yield
    report(f"    done in {time.monotonic() - started:.1f}s")


def _run(args: list[str], env: dict[str, str], what: str, *, stdin: str | None = None) -> str:
    """Run a command of the platform; PlatformError with the last lines of its output when it fails."""
    result = subprocess.run(
        args, input=stdin, env=env, capture_output=True, text=True, check=False, cwd=settings.project_root()
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-25:])
        raise PlatformError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def start_database(lay: Layout, report: Reporter) -> None:
    """Embedded PostgreSQL unless SCROLLINTEL_DATABASE_URL points elsewhere; then databases and roles."""
    from scrollintel.platform.provision import provision

    if settings.external_database_url():
        report(f"  using external PostgreSQL from {settings.ENV_DATABASE_URL} (no embedded server)")
    else:
        server = EmbeddedPostgres(lay.state / "postgres")
        port = server.start()
        report(f"    PostgreSQL on {HOST}:{port} (data in {server.data_dir})")
    provision(airflow_database_given=bool(os.environ.get(ENV_USER_AIRFLOW_DB)))


#: Built-in FAB roles that may open the governance pages: the UI lists plugin nav entries from
#: /api/v2/plugins, which needs "can_read on Plugins" (only Admin has it by default).
PLUGIN_READER_ROLES = ("Viewer", "User", "Op")
#: The service user that imports Airflow's audit log into the ledger, and its least-privilege role
#: (reading an event log needs the DAGs it names).
AUDIT_SERVICE_USER = "scrollintel-audit"
AUDIT_READER_ROLE = "ScrollIntelAuditReader"
AUDIT_READER_PERMISSIONS = (("can_read", "Audit Logs"), ("can_read", "DAGs"), ("can_read", "Website"))
#: The service user the cost rollup reads task tries as, and its least-privilege role.
COST_SERVICE_USER = "scrollintel-cost"
COST_READER_ROLE = "ScrollIntelCostReader"
COST_READER_PERMISSIONS = (("can_read", "DAGs"), ("can_read", "DAG Runs"), ("can_read", "Task Instances"))
#: The platform's service roles and exactly what each may do: `up` puts back what differs.
SERVICE_ROLES = {AUDIT_READER_ROLE: AUDIT_READER_PERMISSIONS, COST_READER_ROLE: COST_READER_PERMISSIONS}

_AUTH_IN_PLACE = """
SELECT
  (SELECT count(*) FROM ab_user WHERE username = ANY(%(users)s)) = cardinality(%(users)s)
  AND (
    SELECT count(DISTINCT r.name) FROM ab_permission_view_role pvr
    JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id
    JOIN ab_permission p ON p.id = pv.permission_id
    JOIN ab_view_menu vm ON vm.id = pv.view_menu_id
    JOIN ab_role r ON r.id = pvr.role_id
    WHERE p.name = 'can_read' AND vm.name = 'Plugins' AND r.name = ANY(%(roles)s)
  ) = cardinality(%(roles)s)
"""
#: Each service role's permissions as the auth manager holds them.
_SERVICE_ROLE_PERMISSIONS = """
SELECT r.name, p.name, vm.name FROM ab_role r
JOIN ab_permission_view_role pvr ON pvr.role_id = r.id
JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id
JOIN ab_permission p ON p.id = pv.permission_id
JOIN ab_view_menu vm ON vm.id = pv.view_menu_id
WHERE r.name = ANY(%(roles)s)
"""


def governance_digest() -> tuple[str, int]:
    """SHA-256 over every governance file (path + content) and how many files there are."""
    import hashlib

    from scrollintel.config import check_governance

    report = check_governance(settings.governance_dir())
    digest = hashlib.sha256()
    for path in sorted(report.files):
        digest.update(str(path.relative_to(settings.governance_dir())).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest(), len(report.files)


def record_config_validated(env: dict[str, str]) -> None:
    """Record the validated governance config (its digest) in the audit ledger."""
    from scrollintel import audit

    digest, files = governance_digest()
    saved = dict(os.environ)
    os.environ.update(env)  # the ledger is found the way the platform's processes find it
    try:
        audit.record(
            "config.validated",
            "governance:config",
            {"files": files, "problems": 0, "sha256": digest},
            actor="service:scrollintel-launcher",
            key=f"config.validated:{digest}",
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)


def team_users() -> list[str]:
    """The members of governance/teams.yaml: approvers answer approval gates as themselves."""
    from scrollintel.config import load_governance

    names: list[str] = []
    for team in load_governance(settings.governance_dir()).teams.teams:
        names.extend(member.id for member in team.members if member.id not in names)
    return names


def auth_plan(keys: dict[str, str]) -> dict[str, object]:
    """The users, roles and grants `up` ensures (see scrollintel.platform.fab_bootstrap).

    Besides the admin and the audit service user, every member of governance/teams.yaml gets an
    Airflow user (role ``User``: may trigger DAGs and answer the approval gates assigned to them),
    sharing one generated password on a laptop (``team_password`` in the state folder, or
    ``SCROLLINTEL_TEAM_PASSWORD``).
    """
    members = [
        {
            "username": name,
            "role": "User",
            "password": keys["team_password"],
            "firstname": name,
            "lastname": "(team member)",
            "email": f"{name}@scrollintel.invalid",
        }
        for name in team_users()
    ]
    return {
        "roles": {role: [list(p) for p in permissions] for role, permissions in SERVICE_ROLES.items()},
        "grants": [{"roles": list(PLUGIN_READER_ROLES), "permission": ["can_read", "Plugins"]}],
        "users": [
            {
                "username": ADMIN_USER,
                "role": "Admin",
                "password": keys["admin_password"],
                "firstname": "Platform",
                "lastname": "Admin",
                "email": "admin@scrollintel.invalid",
            },
            {
                "username": AUDIT_SERVICE_USER,
                "role": AUDIT_READER_ROLE,
                "password": keys["audit_api_password"],
                "reset_password": True,
                "firstname": "Audit",
                "lastname": "Importer",
                "email": f"{AUDIT_SERVICE_USER}@scrollintel.invalid",
            },
            {
                "username": COST_SERVICE_USER,
                "role": COST_READER_ROLE,
                "password": keys["cost_api_password"],
                "reset_password": True,
                "firstname": "Cost",
                "lastname": "Rollup",
                "email": f"{COST_SERVICE_USER}@scrollintel.invalid",
            },
            *members,
        ],
    }


def ensure_auth(env: dict[str, str], keys: dict[str, str]) -> list[str]:
    """Admin and service users, the service roles (exactly their permissions) and plugin read grants;
    returns the changes."""
    import psycopg

    # A direct look-up keeps warm starts from paying ~8 s of Airflow start-up for nothing.
    with psycopg.connect(db.libpq_url(db.database_url("airflow"))) as conn:
        users = [ADMIN_USER, AUDIT_SERVICE_USER, COST_SERVICE_USER, *team_users()]
        row = conn.execute(_AUTH_IN_PLACE, {"users": users, "roles": list(PLUGIN_READER_ROLES)}).fetchone()
        held = conn.execute(_SERVICE_ROLE_PERMISSIONS, {"roles": list(SERVICE_ROLES)}).fetchall()
    if row and row[0] and service_roles_in_place(held):
        return []
    output = _run(
        [sys.executable, "-m", "scrollintel.platform.fab_bootstrap"],
        env,
        "creating Airflow users and roles",
        stdin=json.dumps(auth_plan(keys)),
    )
    return [line for line in output.splitlines() if line.startswith(("user ", "role "))]


def service_roles_in_place(held: list[tuple[str, str, str]]) -> bool:
    """Whether every service role holds exactly its permissions (rows: role, action, resource).

    A platform made by an older release is brought up to date, a permission granted by hand
    beyond a role's is taken back (least privilege), by the next `up`.
    """
    have: dict[str, set[tuple[str, str]]] = {role: set() for role in SERVICE_ROLES}
    for role, action, resource in held:
        have[role].add((action, resource))
    return all(have[role] == set(permissions) for role, permissions in SERVICE_ROLES.items())


def wait_healthy(lay: Layout, timeout: float = HEALTH_TIMEOUT_S) -> dict[str, object]:
    """Poll the api-server health endpoint until every component is healthy."""
    import httpx

    url = f"http://{HOST}:{platform_ports(lay)['api_server']}/api/v2/monitor/health"
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        for proc in managed_processes(lay):
            if proc.pid() is None:
                raise PlatformError(f"{proc.name} exited; last lines of {proc.log_file}:\n{_tail(proc.log_file)}")
        try:
            last = httpx.get(url, timeout=3).json()
        except (httpx.HTTPError, ValueError):
            time.sleep(2)
            continue
        statuses = {name: (part or {}).get("status") for name, part in last.items() if isinstance(part, dict)}
        if statuses and all(value == "healthy" for value in statuses.values()):
            return last
        time.sleep(2)
    raise PlatformError(f"Airflow not healthy after {timeout:.0f}s: {json.dumps(last)}; logs in {lay.logs}")


def wait_execution_api(lay: Layout, timeout: float = HEALTH_TIMEOUT_S) -> float:
    """Poll the execution API's ``/execution/health`` until it answers 200; returns the seconds waited.

    Raises PlatformError when the api-server exits or does not answer within ``timeout``.
    """
    import httpx

    url = f"http://{HOST}:{platform_ports(lay)['api_server']}/execution/health"
    api_server = next(proc for proc in managed_processes(lay) if proc.name == "api-server")
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout:
        if api_server.pid() is None:
            raise PlatformError(
                f"api-server exited; last lines of {api_server.log_file}:\n{_tail(api_server.log_file)}"
            )
        try:
            response = httpx.get(url, timeout=10)
        except httpx.HTTPError as err:
            last = f"{type(err).__name__}: {err}"
        else:
            if response.status_code == 200:
                return time.monotonic() - started
            last = f"HTTP {response.status_code}"
        time.sleep(1)
    raise PlatformError(f"the execution API ({url}) did not answer within {timeout:.0f}s ({last}); logs in {lay.logs}")


def start_processes(lay: Layout, env: dict[str, str], *, first: bool) -> None:
    """Start the managed processes that start first (``first``) or all the others, in order."""
    for proc in managed_processes(lay):
        if (proc.name in STARTED_FIRST) == first:
            proc.start(process_env(proc.name, env), settings.project_root())


def airflow_api_env(api_port: int, keys: dict[str, str]) -> dict[str, str]:
    """The service users that read Airflow's REST API, each as its own Airflow connection and,
    for the command line, environment variables: the audit log import and the cost rollup."""
    from scrollintel.audit import settings as audit_settings
    from scrollintel.cost import sources as cost_sources

    env: dict[str, str] = {}
    for conn_id, env_user, env_password, user, password in (
        (
            audit_settings.API_CONN_ID,
            audit_settings.ENV_API_USER,
            audit_settings.ENV_API_PASSWORD,
            AUDIT_SERVICE_USER,
            keys["audit_api_password"],
        ),
        (
            cost_sources.API_CONN_ID,
            cost_sources.ENV_API_USER,
            cost_sources.ENV_API_PASSWORD,
            COST_SERVICE_USER,
            keys["cost_api_password"],
        ),
    ):
        login = {"conn_type": "http", "host": HOST, "port": api_port, "schema": "http", "login": user}
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({**login, "password": password})
        env[env_user], env[env_password] = user, password
    return env


def process_env(name: str, env: dict[str, str]) -> dict[str, str]:
    """The environment of one managed process: ``env``, plus what only that process gets.

    The MLflow database's URL (with its password) goes to the one process that needs it, Flower's
    login to Flower; each Celery worker gets the hostname its task instances carry.
    """
    if name == "mlflow":
        return {**env, **mlflow_service.server_env(db.database_url("mlflow"))}
    if name == celery_service.FLOWER_PROCESS:
        keys = platform_secrets(layout())
        return {**env, **celery_service.flower_env(ADMIN_USER, keys["admin_password"])}
    for worker in celery_service.WORKERS:
        if name == worker.process:
            return {**env, **celery_service.worker_env(worker)}
    return env


def start_broker(lay: Layout, env: dict[str, str], report: Reporter) -> float:
    """Celery mode: start Redis (its config: port, password, data folder) unless the user runs a broker,
    then wait until the broker answers; returns the seconds waited."""
    keys, ports = platform_secrets(lay), platform_ports(lay)
    server = next((proc for proc in managed_processes(lay) if proc.name == celery_service.BROKER_PROCESS), None)
    if server is None:
        report(f"    using the broker in {celery_service.ENV_BROKER_URL} (no Redis server started)")
    else:
        celery_service.write_redis_config(lay.state, HOST, ports["redis"], keys["redis_password"])
        server.start(env, settings.project_root())
        report(f"    Redis on {HOST}:{ports['redis']} (data in {celery_service.redis_dir(lay.state)})")
    return celery_service.wait_broker(
        broker_url(keys, ports),
        alive=lambda: server is None or server.pid() is not None,
        log_file=server.log_file if server else None,
    )


def wait_workers(lay: Layout, report: Reporter) -> float:
    """Celery mode: wait until both workers answer a Celery ping; returns the seconds waited."""
    workers = [proc for proc in managed_processes(lay) if proc.name in {w.process for w in celery_service.WORKERS}]

    def alive() -> bool:
        for proc in workers:
            if proc.pid() is None:
                raise PlatformError(f"{proc.name} exited; last lines of {proc.log_file}:\n{_tail(proc.log_file)}")
        return True

    waited = celery_service.wait_workers(
        broker_url(platform_secrets(lay), platform_ports(lay)),
        [worker.hostname for worker in celery_service.WORKERS],
        alive=alive,
    )
    names = ", ".join(f"{w.hostname} ({' + '.join(w.queues)})" for w in celery_service.WORKERS)
    report(f"    Celery workers {names}; Flower on http://{HOST}:{platform_ports(lay)['flower']} (admin login)")
    return waited


def wait_mlflow(lay: Layout, timeout: float = mlflow_service.HEALTH_TIMEOUT_S) -> float:
    """Wait until the MLflow server's ``/health`` answers; returns the seconds waited."""
    server = next(proc for proc in managed_processes(lay) if proc.name == "mlflow")
    return mlflow_service.wait_ready(
        mlflow_service.health_url(HOST, platform_ports(lay)["mlflow"]),
        alive=lambda: server.pid() is not None,
        timeout=timeout,
        log_file=server.log_file,
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def write_env_file(lay: Layout) -> None:
    """`source .scrollintel/platform.env` gives a shell the platform's Airflow CLI settings."""
    import shlex

    lines = [f"export {key}={shlex.quote(value)}" for key, value in sorted(airflow_env(lay).items())]
    lines.append(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')
    lay.env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lay.env_file.chmod(0o600)


def up(report: Reporter, *, seed_demo: bool = True) -> dict[str, str]:
    """Bring the platform up; returns what to show the user."""
    from scrollintel.config import validate_governance

    adopt_airflow_database_setting()
    celery = check_executor()  # a bad SCROLLINTEL_EXECUTOR or a missing redis-server stops here
    lay = layout()
    lay.state.mkdir(parents=True, exist_ok=True)
    (lay.state / "lineage").mkdir(exist_ok=True)
    with step(report, "validating governance config"):
        problems = validate_governance(settings.governance_dir())
        if problems:
            raise PlatformError(
                "governance config is invalid; nothing was started:\n" + "\n".join(str(problem) for problem in problems)
            )
    with step(report, "starting PostgreSQL and creating databases"):
        start_database(lay, report)
    refresh_ports(lay, report)
    env = child_env(lay)
    write_env_file(lay)
    with step(report, "migrating the Airflow metadata database"):
        _run([_bin("airflow"), "db", "migrate"], env, "airflow db migrate")
    with step(report, "migrating the governance schema"):
        _run([_bin("scrollintel"), "db", "upgrade"], env, "scrollintel db upgrade")
        record_config_validated(env)
    keys = platform_secrets(lay)
    with step(report, "ensuring Airflow users, roles and permissions"):
        for change in ensure_auth(env, keys):
            report(f"    {change}")
    if seed_demo:
        with step(report, "seeding the demo source systems"):
            scale = os.environ.get("SCROLLINTEL_DEMO_SCALE")
            _run(
                [_bin("scrollintel"), "demo", "seed", *(["--scale", scale] if scale else [])],
                env,
                "scrollintel demo seed",
            )
    with step(report, "building the dbt manifest (the transform DAG is rendered from it)"):
        build_dbt_manifest(env, report)
    if celery:
        with step(report, "starting the Celery broker (Redis) and waiting until it answers"):
            start_broker(lay, env, report)
    with step(report, "starting the Airflow api-server, MLflow and the demo marketing API and Slack workspace"):
        start_processes(lay, env, first=True)
    with step(report, "waiting until the execution API answers (tasks report their start to it)"):
        wait_execution_api(lay)
    with step(report, "waiting until the MLflow server answers (tasks log models to it)"):
        waited = wait_mlflow(lay)
        report(f"    MLflow on http://{HOST}:{platform_ports(lay)['mlflow']} ({waited:.1f}s after the execution API)")
    with step(report, "starting the Airflow scheduler, dag-processor, triggerer and the audit anchorer"):
        start_processes(lay, env, first=False)
    with step(report, "waiting until every Airflow component (and in Celery mode both workers) is healthy"):
        wait_healthy(lay)
        if celery:
            wait_workers(lay, report)
    with step(report, "anchoring and verifying the audit ledger"):
        _run([_bin("scrollintel"), "audit", "anchor"], env, "scrollintel audit anchor")
        report("    " + _run([_bin("scrollintel"), "audit", "verify"], env, "scrollintel audit verify").strip())
    ports = platform_ports(lay)
    return {
        "url": f"http://{HOST}:{ports['api_server']}",
        "user": ADMIN_USER,
        "password": keys["admin_password"],
        "team_password": keys["team_password"],
        "slack": f"http://{HOST}:{ports['slack']}",
        "mlflow": f"http://{HOST}:{ports['mlflow']}",
        "logs": str(lay.logs),
        "env_file": str(lay.env_file),
    }


def down(report: Reporter, *, timeout: float = 30.0) -> None:
    """Stop exactly what `up` started (PID files), then the embedded PostgreSQL.

    Each component gets ``timeout`` seconds to shut down gracefully (the scheduler waits for the
    tasks it is running) before it is killed.
    """
    from concurrent.futures import ThreadPoolExecutor

    lay = layout()
    every = managed_processes(lay)
    # The broker last: workers finishing their tasks still talk to it.
    procs = [proc for proc in every if proc.name != celery_service.BROKER_PROCESS]
    # All at once: each component's graceful shutdown is independent of the others.
    with ThreadPoolExecutor(max_workers=len(procs)) as pool:
        stopped = list(pool.map(lambda proc: proc.stop(timeout), procs))
    broker = [proc for proc in every if proc.name == celery_service.BROKER_PROCESS]
    procs += broker
    stopped += [proc.stop(timeout) for proc in broker]
    for proc, was_running in zip(procs, stopped, strict=True):
        if was_running:
            report(f"  stopped {proc.name}")
    if not settings.external_database_url():
        server = EmbeddedPostgres(lay.state / "postgres")
        if server.stop():
            report("  stopped PostgreSQL")


def status() -> dict[str, str]:
    """Which of the platform's processes are running."""
    lay = layout()
    result = {proc.name: ("running" if proc.pid() else "stopped") for proc in managed_processes(lay)}
    if not settings.external_database_url():
        result["postgres"] = "running" if EmbeddedPostgres(lay.state / "postgres").is_running() else "stopped"
    return result
