"""Paging schemes of the JSON API connectors: requests, stop conditions and resume tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from scrollintel.ingest.connectors.errors import SourceError
from scrollintel.ingest.connectors.jsonapi import Page
from scrollintel.ingest.connectors.paginators import (
    JsonCursorPaginator,
    Paginator,
    RelayCursorPaginator,
    SinglePagePaginator,
    read_pages,
)

pytestmark = pytest.mark.unit


class Api:
    """Answers in order; remembers the paging values of every request."""

    def __init__(self, answers: list[Any], records_path: str) -> None:
        self.answers = list(answers)
        self.records_path = records_path
        self.sent: list[dict[str, str]] = []

    def fetch(self, paging: dict[str, str]) -> tuple[Any, list[Mapping[str, Any]]]:
        self.sent.append(dict(paging))
        answer = self.answers.pop(0)
        records = answer
        for part in self.records_path.split("."):
            records = records[part]
        return answer, records


def rest_page(ids: list[int], next_cursor: Any = None, **extra: Any) -> dict[str, Any]:
    return {"data": [{"id": i} for i in ids], "next_cursor": next_cursor, **extra}


def relay_page(ids: list[int], end: Any, has_next: Any = ...) -> dict[str, Any]:
    info: dict[str, Any] = {"endCursor": end}
    if has_next is not ...:
        info["hasNextPage"] = has_next
    return {"events": {"nodes": [{"id": i} for i in ids], "pageInfo": info}}


def json_cursor() -> JsonCursorPaginator:
    return JsonCursorPaginator("cursor", "next_cursor", "GET http://api/v1/events")


def relay_cursor() -> RelayCursorPaginator:
    return RelayCursorPaginator("after", "events.pageInfo.endCursor", "GraphQL events")


def read(paginator: Paginator, token: str | None, api: Api) -> list[Page]:
    return list(read_pages(paginator, token, api.fetch))


def resumes(pages: list[Page]) -> list[str | None]:
    return [page.resume for page in pages]


# --------------------------------------------------------------------------- single page


def test_single_page_is_one_request_without_paging_values_or_token() -> None:
    api = Api([rest_page([1, 2], next_cursor="ignored")], "data")
    pages = read(SinglePagePaginator(), "a-token", api)
    assert [len(page.records) for page in pages] == [2]
    assert resumes(pages) == [None]
    assert api.sent == [{}], "the token is not sent: the resource is read whole"


# --------------------------------------------------------------------------- JSON cursor (REST)


def test_json_cursor_follows_the_next_cursor_until_none() -> None:
    api = Api([rest_page([1], "c1"), rest_page([2], "c2"), rest_page([3], None)], "data")
    pages = read(json_cursor(), None, api)
    assert [page.records for page in pages] == [[{"id": 1}], [{"id": 2}], [{"id": 3}]]
    assert api.sent == [{}, {"cursor": "c1"}, {"cursor": "c2"}]
    # After the last page the token is the cursor that fetched it, so the next run re-reads it.
    assert resumes(pages) == ["c1", "c2", "c2"]


@pytest.mark.parametrize("last", [None, ""], ids=["null", "empty"])
def test_json_cursor_stops_on_a_null_or_empty_cursor(last: Any) -> None:
    api = Api([rest_page([1], "c1"), rest_page([2], last)], "data")
    assert resumes(read(json_cursor(), None, api)) == ["c1", "c1"]
    assert len(api.sent) == 2


def test_json_cursor_stops_on_a_missing_cursor() -> None:
    api = Api([{"data": [{"id": 1}]}], "data")
    assert resumes(read(json_cursor(), None, api)) == [None]


def test_json_cursor_resumes_from_the_token_and_sends_numbers_back_as_text() -> None:
    api = Api([rest_page([5], 42), rest_page([6], None)], "data")
    pages = read(json_cursor(), "c4", api)
    assert api.sent == [{"cursor": "c4"}, {"cursor": "42"}]
    assert resumes(pages) == ["42", "42"]


def test_json_cursor_refuses_the_cursor_it_sent_before_using_the_page() -> None:
    api = Api([rest_page([1], "c1"), rest_page([2], "c1")], "data")
    seen: list[Page] = []
    with pytest.raises(SourceError) as raised:
        for page in read_pages(json_cursor(), None, api.fetch):
            seen.append(page)
    assert str(raised.value) == (
        "GET http://api/v1/events: the API returned the cursor it was given; stopping to avoid a loop"
    )
    assert resumes(seen) == ["c1"], "the looping page is not handed out"


def test_json_cursor_reads_a_nested_path() -> None:
    paginator = JsonCursorPaginator("page", "meta.next", "GET /x")
    api = Api([{"items": [{"id": 1}], "meta": {"next": "n1"}}, {"items": [], "meta": {}}], "items")
    assert resumes(read(paginator, None, api)) == ["n1", "n1"]
    assert api.sent == [{}, {"page": "n1"}]


# --------------------------------------------------------------------------- Relay cursor (GraphQL)


def test_relay_cursor_reads_while_has_next_page() -> None:
    api = Api([relay_page([1, 2], "e2", True), relay_page([3], "e3", False)], "events.nodes")
    pages = read(relay_cursor(), None, api)
    assert [len(page.records) for page in pages] == [2, 1]
    assert api.sent == [{}, {"after": "e2"}]
    assert resumes(pages) == ["e2", "e3"]


def test_relay_cursor_resumes_after_the_end_cursor() -> None:
    api = Api([relay_page([], None, False)], "events.nodes")
    pages = read(relay_cursor(), "e3", api)
    assert api.sent == [{"after": "e3"}]
    assert resumes(pages) == ["e3"], "an empty last page keeps the token it was read from"


def test_relay_cursor_without_has_next_page_reads_until_an_empty_page() -> None:
    api = Api([relay_page([1], "e1"), relay_page([2], "e2"), relay_page([], None)], "events.nodes")
    pages = read(relay_cursor(), None, api)
    assert api.sent == [{}, {"after": "e1"}, {"after": "e2"}]
    assert resumes(pages) == ["e1", "e2", "e2"]


def test_relay_cursor_without_has_next_page_stops_without_an_end_cursor() -> None:
    api = Api([relay_page([1], None)], "events.nodes")
    assert resumes(read(relay_cursor(), None, api)) == [None]


def test_relay_has_next_page_at_the_top_level() -> None:
    paginator = RelayCursorPaginator("after", "endCursor", "GraphQL top")
    api = Api([{"nodes": [{"id": 1}], "endCursor": "e1", "hasNextPage": False}], "nodes")
    assert resumes(read(paginator, None, api)) == ["e1"]


@pytest.mark.parametrize("end", [None, "e1"], ids=["no-end-cursor", "same-end-cursor"])
def test_relay_cursor_that_does_not_move_fails_after_its_page(end: str | None) -> None:
    api = Api([relay_page([1], "e1", True), relay_page([2], end, True)], "events.nodes")
    seen: list[Page] = []
    with pytest.raises(SourceError) as raised:
        for page in read_pages(relay_cursor(), None, api.fetch):
            seen.append(page)
    assert str(raised.value) == "GraphQL events: hasNextPage is true but the end cursor did not move; stopping"
    assert resumes(seen) == ["e1", "e1"], "the page is handed out, then the read stops"
    assert len(api.sent) == 2
