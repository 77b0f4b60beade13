"""How the pages of a JSON API resource follow one another: one class per paging scheme.

Modelled on dlt's REST client paginators (``dlt.sources.helpers.rest_client.paginators``): a
paginator starts from a resume token, says what the next request carries, reads each answer to
learn whether another page follows and from where, and names the resume token after the page
it read. :func:`read_pages` drives one through the pages of a resource; a connector only says
how to fetch one page (GET with query parameters, or POST a GraphQL query with variables).

The schemes the connectors support:

- :class:`SinglePagePaginator`: no paging; the resource is one answer and has no resume token.
- :class:`JsonCursorPaginator` (REST ``cursor_param`` / ``next_cursor_field``): the answer holds
  the next cursor at a dotted path; it is sent back as a query parameter. A null, empty or
  missing next cursor ends the read; an answer that returns the cursor it was given is refused
  before its page is used, since reading on would loop.
- :class:`RelayCursorPaginator` (GraphQL ``cursor_variable`` / ``next_cursor_field``): the end
  cursor at a dotted path is sent back as a query variable while the ``hasNextPage`` next to it
  is true (without one: while pages are not empty and carry an end cursor). A page that claims
  a next page but does not move the cursor ends the read with an error after that page.

Resume token of a page (both cursor schemes): the cursor the answer gave for the next page, or,
when it gave none, the cursor that fetched the page, so a later run re-reads the last page (a
no-op for the merge on the primary key) and continues with whatever came after it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from scrollintel.ingest.connectors.errors import SourceError
from scrollintel.ingest.connectors.jsonapi import Page, value_at

#: The records of one answer.
Records = list[Mapping[str, Any]]
#: Fetches one page: from the paging values of the request to (the answer, its records).
FetchPage = Callable[[dict[str, str]], tuple[Any, Records]]


class Paginator(ABC):
    """One paging scheme, as state read from the answers of one resource (use once per read)."""

    def __init__(self) -> None:
        self.has_next_page = True
        """False once an answer said no page follows it."""

    @abstractmethod
    def start(self, token: str | None) -> None:
        """Read from resume token ``token`` (None: from the start)."""

    @abstractmethod
    def request_values(self) -> dict[str, str]:
        """What the next request carries for paging (query parameters or query variables)."""

    @abstractmethod
    def update_state(self, answer: Any, records: Sequence[Mapping[str, Any]]) -> None:
        """Learn from the answer of one page whether another follows and where it starts."""

    @property
    @abstractmethod
    def resume(self) -> str | None:
        """Resume token after the page last read: where the records after it are read from."""

    @abstractmethod
    def advance(self) -> None:
        """Move on to the next page (called only while :attr:`has_next_page` is true)."""


class SinglePagePaginator(Paginator):
    """A resource read in one request: nothing to send, no next page, no resume token."""

    def start(self, token: str | None) -> None:
        """Ignore ``token``: the resource is read whole every time."""

    def request_values(self) -> dict[str, str]:
        """Nothing: the one request carries no paging values."""
        return {}

    def update_state(self, answer: Any, records: Sequence[Mapping[str, Any]]) -> None:
        """The one answer is the last."""
        self.has_next_page = False

    @property
    def resume(self) -> str | None:
        """None: there is nothing to resume from."""
        return None

    def advance(self) -> None:
        """Nothing to move to: no page follows the one answer."""


class CursorPaginator(Paginator):
    """An opaque cursor read from each answer at a dotted path and sent back under a name.

    ``name`` is the query parameter or variable the cursor is sent as; ``cursor_path`` is the
    dotted path of the next cursor in the answer; ``where`` names the request in error messages.
    """

    def __init__(self, name: str, cursor_path: str, where: str) -> None:
        super().__init__()
        self.name = name
        self.cursor_path = cursor_path
        self.where = where
        self.cursor: str | None = None
        """The cursor the next request sends (None: the first page)."""
        self.next_cursor: str | None = None
        """The cursor the last answer gave for the page after it (None: it gave none)."""

    def start(self, token: str | None) -> None:
        """Send ``token`` as the cursor of the first request."""
        self.cursor = token

    def request_values(self) -> dict[str, str]:
        """``{name: cursor}``, or nothing for the first page of a read from the start."""
        return {self.name: self.cursor} if self.cursor is not None else {}

    @property
    def resume(self) -> str | None:
        """The next cursor, else the cursor that fetched the last page (see the module docstring)."""
        return self.next_cursor if self.next_cursor is not None else self.cursor

    def advance(self) -> None:
        """Send the next cursor with the next request."""
        self.cursor = self.next_cursor

    def _read_cursor(self, answer: Any) -> str | None:
        """The cursor at :attr:`cursor_path` as text; None when it is null, empty or missing."""
        found = value_at(answer, self.cursor_path)
        return str(found) if found not in (None, "") else None


class JsonCursorPaginator(CursorPaginator):
    """The next cursor in the answer's JSON (dlt's ``JSONResponseCursorPaginator``); none ends the read."""

    def update_state(self, answer: Any, records: Sequence[Mapping[str, Any]]) -> None:
        """Read the next cursor; SourceError when the answer returns the cursor it was given."""
        self.next_cursor = self._read_cursor(answer)
        if self.next_cursor is not None and self.next_cursor == self.cursor:
            raise SourceError(f"{self.where}: the API returned the cursor it was given; stopping to avoid a loop")
        self.has_next_page = self.next_cursor is not None


class RelayCursorPaginator(CursorPaginator):
    """A Relay connection's ``pageInfo``: the end cursor and the ``hasNextPage`` beside it."""

    def update_state(self, answer: Any, records: Sequence[Mapping[str, Any]]) -> None:
        """Read the end cursor and whether a next page follows (see the module docstring)."""
        self.next_cursor = self._read_cursor(answer)
        parent, _, _ = self.cursor_path.rpartition(".")
        has_next = value_at(answer, f"{parent}.hasNextPage" if parent else "hasNextPage")
        if isinstance(has_next, bool):
            self.has_next_page = has_next
        else:
            self.has_next_page = bool(records) and self.next_cursor is not None

    def advance(self) -> None:
        """Send the end cursor next; SourceError when a next page is claimed but the cursor did not move."""
        if self.next_cursor is None or self.next_cursor == self.cursor:
            raise SourceError(f"{self.where}: hasNextPage is true but the end cursor did not move; stopping")
        super().advance()


def read_pages(paginator: Paginator, token: str | None, fetch: FetchPage) -> Iterator[Page]:
    """The pages from resume token ``token`` (None: from the start), in order, as ``paginator`` pages them.

    ``fetch`` gets the paging values of each request and returns the answer and its records.
    """
    paginator.start(token)
    while True:
        answer, records = fetch(paginator.request_values())
        paginator.update_state(answer, records)
        yield Page(records=records, resume=paginator.resume)
        if not paginator.has_next_page:
            return
        paginator.advance()
