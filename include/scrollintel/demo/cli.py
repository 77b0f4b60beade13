"""``scrollintel demo``: seed the demo source systems, serve the marketing API and the demo Slack workspace."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from scrollintel.demo import DEFAULT_SEED
from scrollintel.demo.cost_history import cost_history_command
from scrollintel.exceptions import ScrollIntelError


@click.group("demo")
def demo_group() -> None:
    """Synthetic demo source systems: shop database, marketing API, store files."""


demo_group.add_command(cost_history_command)


@demo_group.command("seed")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Size multiplier (1 = 120k orders).")
@click.option("--seed", "seed_value", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@click.option("--shop-url", default=None, help="URL of the shop database (default: the platform's `shop` database).")
@click.option(
    "--files-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Root the landing/ files go under (default: the platform's object store).",
)
@click.option("--force", is_flag=True, help="Reload the shop tables even if this seed and scale are loaded.")
def seed_command(*, scale: float, seed_value: int, shop_url: str | None, files_dir: Path | None, force: bool) -> None:
    """Load the shop database and write the store files (deterministic from --seed and --scale)."""
    from scrollintel.demo import demo_sizes
    from scrollintel.demo.files import write_store_files
    from scrollintel.demo.shop import seed_shop

    started = time.perf_counter()
    try:
        demo_sizes(scale)
        url = shop_url or _platform_shop_url()
        root = files_dir or _platform_object_store()
        click.echo(f"Seeding the shop database (scale {scale:g}, seed {seed_value})")
        counts = seed_shop(url, scale=scale, seed=seed_value, force=force, on_step=_echo_step)
        click.echo(f"  shop: {sum(counts.values()):,} rows in {len(counts)} tables")
        step = time.perf_counter()
        paths = write_store_files(root, scale=scale, seed=seed_value)
        _echo_line("store files", time.perf_counter() - step, f"{len(paths)} files under {root / 'landing'}")
    except ScrollIntelError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Demo sources ready in {time.perf_counter() - started:.1f} s")


@demo_group.command("serve-marketing")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--seed", "seed_value", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Customer id range and default event count.")
@click.option("--events", type=int, default=None, help="Number of events served (default: 150k x scale).")
@click.option("--rate-limit", type=int, default=600, show_default=True, help="Requests per minute per API key.")
def serve_marketing_command(
    *, host: str, port: int, seed_value: int, scale: float, events: int | None, rate_limit: int
) -> None:
    """Serve the demo marketing API (API key from SCROLLINTEL_MARKETING_API_KEY)."""
    from scrollintel.demo import demo_sizes
    from scrollintel.demo.marketing import DEFAULT_EVENTS, ENV_API_KEY, create_marketing_app

    api_key = os.environ.get(ENV_API_KEY, "").strip()
    if not api_key:
        raise click.UsageError(f"set {ENV_API_KEY} to the API key clients must send; refusing to start without one")
    try:
        app = create_marketing_app(
            seed=seed_value,
            n_events=events if events is not None else round(DEFAULT_EVENTS * scale),
            api_key=api_key,
            rate_limit_per_minute=rate_limit,
            n_customers=demo_sizes(scale).customers,
        )
    except ScrollIntelError as err:
        raise click.ClickException(str(err)) from err

    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")


@demo_group.command("drift-data")
@click.option("--shop-url", default=None, help="URL of the shop database (default: the platform's `shop` database).")
@click.option(
    "--as-of",
    default=None,
    help=(
        "The instant dbt models at (ISO 8601): it fixes the newest snapshot. Default: as the platform runs dbt, "
        "$SCROLLINTEL_AS_OF if set (empty: now), else the demo's fixed instant."
    ),
)
@click.option(
    "--cancel-share",
    type=float,
    default=0.6,
    show_default=True,
    help="Share of the revenue orders in the snapshot's feature window that are cancelled.",
)
def drift_data_command(*, shop_url: str | None, as_of: str | None, cancel_share: float) -> None:
    """Cancel shop orders so the churn model's newest snapshot drifts (monitoring asks to retrain)."""
    import datetime as dt

    from scrollintel.demo import AS_OF
    from scrollintel.demo.churn_drift import cancel_orders
    from scrollintel.settings import ENV_AS_OF

    text = as_of if as_of is not None else os.environ.get(ENV_AS_OF, AS_OF.isoformat())
    try:
        instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else dt.datetime.now(dt.UTC)
    except ValueError as err:
        raise click.BadParameter(f"not an ISO 8601 instant: {text!r}", param_hint="--as-of") from err
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    try:
        drift = cancel_orders(shop_url or _platform_shop_url(), instant, cancel_share=cancel_share)
    except (ValueError, ScrollIntelError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Cancellations in the orders of {drift.window_start:%Y-%m-%d} .. {drift.window_end:%Y-%m-%d} "
        f"(the features of the {drift.snapshot} snapshot): {drift.cancelled:,} of {drift.revenue_orders:,} "
        "revenue orders cancelled.\n"
        "Next: ingest_shop loads them, transform_warehouse rebuilds marts.ml_churn_features, ml_churn_monitor\n"
        "finds the drift and starts ml_churn_retrain, whose challenger waits for the model_promotion approval."
    )


@demo_group.command("serve-slack")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8766, show_default=True)
@click.option(
    "--interactivity-url",
    envvar="SCROLLINTEL_SLACK_INTERACTIVITY_URL",
    default="http://127.0.0.1:8080/scrollintel/slack/interactivity",
    show_default=True,
    help="The platform's Slack interactivity endpoint, where button presses are sent.",
)
@click.option("--public-url", default=None, help="This workspace's URL as the platform reaches it (response_url).")
def serve_slack_command(*, host: str, port: int, interactivity_url: str, public_url: str | None) -> None:
    """Serve the demo Slack workspace: Web API at /api/, the message page at /.

    The bot token (SCROLLINTEL_SLACK_BOT_TOKEN) and signing secret (SCROLLINTEL_SLACK_SIGNING_SECRET)
    must equal the password and the signing_secret extra of the platform's Airflow connection
    slack_api_default, whose base_url extra is http://<host>:<port>/api/.
    """
    from scrollintel.demo.slack_workspace import ENV_BOT_TOKEN, ENV_SIGNING_SECRET, create_slack_workspace

    token = os.environ.get(ENV_BOT_TOKEN, "").strip()
    secret = os.environ.get(ENV_SIGNING_SECRET, "").strip()
    missing = [name for name, value in ((ENV_BOT_TOKEN, token), (ENV_SIGNING_SECRET, secret)) if not value]
    if missing:
        raise click.UsageError(f"set {' and '.join(missing)}; refusing to start without them")
    try:
        app = create_slack_workspace(
            bot_token=token,
            signing_secret=secret,
            interactivity_url=interactivity_url,
            public_url=public_url or f"http://{host}:{port}",
        )
    except ScrollIntelError as err:
        raise click.ClickException(str(err)) from err

    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")


def _echo_step(step: str, seconds: float, rows: int) -> None:
    _echo_line(step, seconds, f"{rows:,} rows" if rows else "")


def _echo_line(step: str, seconds: float, detail: str) -> None:
    click.echo(f"  {step:<28} {seconds:6.2f} s" + (f"  ({detail})" if detail else ""))


def _platform_shop_url() -> str:
    try:
        from scrollintel.db import database_url
    except ImportError as err:  # the platform's database layer is optional for this command
        raise click.UsageError("no platform database configuration found; pass --shop-url") from err
    return database_url("shop")


def _platform_object_store() -> Path:
    from scrollintel.settings import object_store_dir

    return object_store_dir()
