"""GraphQL APIs with Relay-style cursor pagination (``type: graphql`` sources).

Each endpoint of the source config is a query POSTed as ``{"query", "variables"}`` to the
connection's base URL plus the extra ``graphql_path`` (default ``/graphql``). Paths are dotted
and relative to the answer's ``data``; lists on the way are mapped over:

- ``records_path``: the records, e.g. ``events.edges.node`` or ``events.nodes``;
- ``cursor_variable`` / ``next_cursor_field``: e.g. ``after`` / ``events.pageInfo.endCursor``;
  reading continues while the ``hasNextPage`` next to the end cursor is true (without one:
  while pages are not empty and the cursor moves;
  :class:`~scrollintel.ingest.connectors.paginators.RelayCursorPaginator`);
- ``page_size``: sent as the variable ``first`` (the query declares ``$first: Int``).

Resume token: the end cursor of the chunk's last page, so the next run asks only for what came
after it. An answer with ``errors`` fails the read (an authentication error code such as
``UNAUTHENTICATED`` or ``FORBIDDEN`` as :class:`SourceAuthError`); partial data is never loaded.

Connection (Airflow, type ``http``): see :mod:`scrollintel.ingest.connectors.http`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from scrollintel.exceptions import ConfigError
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError
from scrollintel.ingest.connectors.http import HttpApi
from scrollintel.ingest.connectors.jsonapi import JsonApiConnector, Page, records_at
from scrollintel.ingest.connectors.paginators import Paginator, RelayCursorPaginator, SinglePagePaginator, read_pages

if TYPE_CHECKING:
    from scrollintel.config.sources import GraphqlEndpoint, GraphqlSource

log = logging.getLogger(__name__)

DEFAULT_PATH = "/graphql"
#: The variable carrying the page size (Relay's convention).
PAGE_SIZE_VARIABLE = "first"
_AUTH_CODES = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED", "FORBIDDEN", "PERMISSION_DENIED"})


class GraphqlConnector(JsonApiConnector):
    """Reads the endpoints (queries) of a :class:`~scrollintel.config.sources.GraphqlSource`."""

    kind: ClassVar[str] = "GraphQL"
    source: GraphqlSource

    @property
    def path(self) -> str:
        """Path of the GraphQL endpoint below the connection's base URL."""
        return str(self.connection.extra_dejson.get("graphql_path", DEFAULT_PATH))

    def query(self, api: HttpApi, endpoint: GraphqlEndpoint, variables: Mapping[str, Any]) -> Any:
        """Run ``endpoint``'s query; its ``data``, or SourceError/SourceAuthError for ``errors``."""
        where = f"GraphQL {endpoint.name} at {api.url(self.path)}"
        body = api.post_json(self.path, {"query": endpoint.query, "variables": dict(variables)})
        if not isinstance(body, Mapping):
            raise SourceError(f"{where}: the answer is not a JSON object")
        errors = body.get("errors")
        if errors:
            raise _graphql_error(where, errors, self.connection.conn_id)
        return body.get("data")

    def _pages(self, api: HttpApi, resource: str, token: str | None) -> Iterator[Page]:
        endpoint: GraphqlEndpoint = self._endpoint(resource)
        where = f"GraphQL {endpoint.name}"
        base: dict[str, Any] = {}
        if endpoint.page_size:
            base[PAGE_SIZE_VARIABLE] = endpoint.page_size
        paginator: Paginator = SinglePagePaginator()
        if endpoint.cursor_variable is not None and endpoint.next_cursor_field is not None:
            paginator = RelayCursorPaginator(endpoint.cursor_variable, endpoint.next_cursor_field, where)

        def fetch(paging: dict[str, str]) -> tuple[Any, list[Mapping[str, Any]]]:
            data = self.query(api, endpoint, {**base, **paging})
            return data, records_at(data, endpoint.records_path, where)

        yield from read_pages(paginator, token, fetch)

    def test_connection(self) -> tuple[bool, str]:
        """Run the first endpoint's query for one record with the connection's key."""
        endpoint: GraphqlEndpoint = self.source.endpoints[0]
        variables = {PAGE_SIZE_VARIABLE: 1} if endpoint.page_size else {}
        try:
            with self._api() as api:
                data = self.query(api, endpoint, variables)
                records = records_at(data, endpoint.records_path, f"GraphQL {endpoint.name}")
                url = api.url(self.path)
        except (SourceError, ConfigError) as err:
            return False, str(err)
        return True, f"GraphQL {endpoint.name} at {url}: {len(records)} record(s) on the first page"


def _graphql_error(where: str, errors: Any, conn_id: str) -> SourceError:
    items = errors if isinstance(errors, list) else [errors]
    messages: list[str] = []
    codes: set[str] = set()
    for item in items[:3]:
        if isinstance(item, Mapping):
            messages.append(str(item.get("message", item))[:200])
            extensions = item.get("extensions")
            if isinstance(extensions, Mapping) and extensions.get("code"):
                codes.add(str(extensions["code"]).upper())
        else:
            messages.append(str(item)[:200])
    text = "; ".join(messages)
    if codes & _AUTH_CODES:
        return SourceAuthError(
            f"{where} was refused ({text}); check the API key (password of Airflow connection {conn_id!r}); not retried"
        )
    return SourceError(f"{where} answered with {len(items)} error(s): {text}")
