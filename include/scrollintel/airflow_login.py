"""Signing in to Airflow's REST API from the command line, as a named user.

The commands that act through Airflow (``model rollback``, ``cost budget request``, ``compliance
evidence``) take the same ``--api-url`` and ``--password`` options (:func:`login_options`); without
them they sign in to the local platform with the password its state folder keeps for that user
(:func:`login`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import httpx


def login_options(command: Any) -> Any:
    """``--api-url`` and ``--password``: where and how the asking user signs in to Airflow."""
    command = click.option(
        "--password",
        envvar="SCROLLINTEL_AIRFLOW_PASSWORD",
        default=None,
        help="The user's password (default: the local platform's).",
    )(command)
    return click.option(
        "--api-url",
        envvar="SCROLLINTEL_AIRFLOW_API_URL",
        default=None,
        help="Airflow's address (default: the local platform).",
    )(command)


def login(api_url: str | None, password: str | None, username: str | None = None) -> tuple[str, str]:
    """The given address and password, else the local platform's api-server and the password it keeps for
    ``username`` (the admin's for the admin, else the team members' shared one)."""
    if api_url is not None and password is not None:
        return api_url, password
    from scrollintel.platform import launcher

    lay = launcher.layout()
    secrets = launcher.platform_secrets(lay)
    return (
        api_url or f"http://{launcher.HOST}:{launcher.platform_ports(lay)['api_server']}",
        password or secrets["admin_password" if username == launcher.ADMIN_USER else "team_password"],
    )


def signed_in_client(api_url: str, username: str, password: str) -> httpx.Client:
    """An API client of ``api_url`` carrying ``username``'s token.

    Raises:
        scrollintel.approvals.trigger.TriggerRefused: Airflow is not reachable or refused the sign-in.
    """
    from scrollintel.approvals.trigger import api_client, sign_in

    return api_client(api_url, sign_in(api_url, username, password))
