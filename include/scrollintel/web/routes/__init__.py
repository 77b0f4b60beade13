"""Routers of the governance web app, one per page, all included by :func:`scrollintel.web.create_app`.

``create_app`` applies Airflow's authentication to all of them. A page module owns its HTML route,
its JSON route (``/api/<slug>``), the pydantic models of that JSON and one ``load_*`` function that
both routes read, so a capability that lands replaces only that function. What the routers share
lives outside this package: dependencies in :mod:`scrollintel.web.deps`, templates in
:mod:`scrollintel.web.templating`, failure answers in :mod:`scrollintel.web.problems`. Routers
never import one another.
"""
