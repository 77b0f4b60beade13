"""Authentication of the governance web app, done by Airflow's own API security dependencies.

Airflow mounts plugin apps without authenticating them. :func:`route_dependencies` is applied to
the whole app by :func:`scrollintel.web.create_app`, so no route can be added without it.

The user comes from Airflow's ``get_user``, exactly as for ``/api/v2``:

* an ``Authorization: Bearer <jwt>`` header when the request has one (API clients, scripts);
* otherwise the ``_token`` cookie the Airflow UI sets at login (browsers, and the pages the UI
  shows in its iframe, which only carry the cookie). In the api-server, Airflow's
  ``JWTRefreshMiddleware`` has already validated that cookie and refreshes it when needed.

A missing or expired token answers 401; a token that does not verify (forged, revoked, unknown
user) answers 403 (Airflow's choice for an invalid JWT); a valid user the auth manager does not
allow to use the Airflow web UI answers 403.

This module imports Airflow's API security module (about two seconds of imports outside the
api-server), so only :func:`scrollintel.web.create_app` and the routers import it.
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import get_user, requires_access_view
from fastapi import Depends, params

CurrentUser = Annotated[BaseUser, Depends(get_user)]
"""The authenticated Airflow user; FastAPI resolves it once per request, shared with the app-level check."""


def route_dependencies() -> list[params.Depends]:
    """Return the dependencies every route of the app carries.

    ``requires_access_view(AccessView.WEBSITE)`` authenticates the caller through ``get_user``
    (bearer header or ``_token`` cookie) and then asks the configured auth manager whether the
    user may use the Airflow web UI at all (FAB: the "Website" permission every built-in role
    but Public has). Page-specific permissions come with each page's data.
    """
    return [Depends(requires_access_view(AccessView.WEBSITE))]


def display_name(user: BaseUser) -> str:
    """Return the name to show in the page header for ``user``."""
    return user.get_name()
