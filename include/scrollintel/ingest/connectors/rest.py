"""REST JSON APIs paged by an opaque cursor (``type: rest`` sources).

Each endpoint of the source config is read with GET ``<base URL><path>``:

- ``records_path``: dotted path of the record list in the answer (none: the answer is the list);
- ``cursor_param`` / ``next_cursor_field``: the answer's next cursor (dotted path) is sent back
  as this query parameter; a null, empty or missing next cursor ends the read
  (:class:`~scrollintel.ingest.connectors.paginators.JsonCursorPaginator`);
- ``page_size_param`` / ``page_size``: page size query parameter and value.

Resume token (``Chunk.token``): the next cursor the API returned after the chunk's last page.
After the last page, which returns no next cursor, the token is the cursor that fetched that
page, so the next run re-reads the last page and then continues with anything added since
(the merge on the primary key makes the re-read rows a no-op). Without cursor paging the
endpoint is read in one request and has no token.

Connection (Airflow, type ``http``): see :mod:`scrollintel.ingest.connectors.http`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from scrollintel.exceptions import ConfigError
from scrollintel.ingest.connectors.errors import SourceError
from scrollintel.ingest.connectors.http import HttpApi
from scrollintel.ingest.connectors.jsonapi import JsonApiConnector, Page, records_at
from scrollintel.ingest.connectors.paginators import JsonCursorPaginator, Paginator, SinglePagePaginator, read_pages

if TYPE_CHECKING:
    from scrollintel.config.sources import RestEndpoint, RestSource

log = logging.getLogger(__name__)


class RestConnector(JsonApiConnector):
    """Reads the endpoints of a :class:`~scrollintel.config.sources.RestSource`."""

    kind: ClassVar[str] = "REST"
    source: RestSource

    def _pages(self, api: HttpApi, resource: str, token: str | None) -> Iterator[Page]:
        endpoint: RestEndpoint = self._endpoint(resource)
        where = f"GET {api.url(endpoint.path)}"
        params: dict[str, Any] = {}
        if endpoint.page_size_param and endpoint.page_size:
            params[endpoint.page_size_param] = endpoint.page_size
        paginator: Paginator = SinglePagePaginator()
        if endpoint.cursor_param is not None and endpoint.next_cursor_field is not None:
            paginator = JsonCursorPaginator(endpoint.cursor_param, endpoint.next_cursor_field, where)

        def fetch(paging: dict[str, str]) -> tuple[Any, list[Mapping[str, Any]]]:
            body = api.get_json(endpoint.path, params={**params, **paging})
            return body, records_at(body, endpoint.records_path, where)

        yield from read_pages(paginator, token, fetch)

    def test_connection(self) -> tuple[bool, str]:
        """GET the first page of the first endpoint with the connection's key."""
        endpoint: RestEndpoint = self.source.endpoints[0]
        params = {endpoint.page_size_param: 1} if endpoint.page_size_param else None
        try:
            with self._api() as api:
                body = api.get_json(endpoint.path, params=params)
                records = records_at(body, endpoint.records_path, f"GET {api.url(endpoint.path)}")
                url = api.url(endpoint.path)
        except (SourceError, ConfigError) as err:
            return False, str(err)
        return True, f"GET {url}: HTTP 200, {len(records)} record(s) on the first page"
