"""GraphQL connector against a real GraphQL server (graphql-core behind Starlette, on loopback)."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from graphql import build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scrollintel.config.sources import GraphqlSource
from scrollintel.ingest.connectors.base import CursorState
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError
from scrollintel.ingest.connectors.graphql import GraphqlConnector
from scrollintel.ingest.connectors.http import RetryPolicy

from .conftest import FaultInjector, make_connection, serve

pytestmark = pytest.mark.integration

KEY = "graphql-key"
SDL = """
type Query {
  orders(first: Int = 50, after: String): OrderConnection!
  secret: String
}
type OrderConnection { edges: [OrderEdge!]!  nodes: [Order!]!  pageInfo: PageInfo! }
type OrderEdge { cursor: String!  node: Order! }
type PageInfo { hasNextPage: Boolean!  endCursor: String }
type Meta { channel: String  score: Int }
type Order {
  id: ID!  customerId: Int  total: Float  placedAt: String  shipOn: String  paid: Boolean
  note: String  tags: [String!]  meta: Meta
}
"""
QUERY = """
query Orders($first: Int, $after: String) {
  orders(first: $first, after: $after) {
    edges { cursor node { id customerId total placedAt shipOn paid note tags meta { channel score } } }
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}
"""
NODES_QUERY = """
query Orders($first: Int, $after: String) {
  orders(first: $first, after: $after) {
    nodes { id customerId total placedAt shipOn paid note tags meta { channel score } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def make_orders(start: int, count: int) -> list[dict[str, Any]]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "id": f"o{i:06d}",
            "customerId": i % 97 + 1,
            "total": round(i * 1.25, 2),
            "placedAt": (base + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "shipOn": (date(2026, 1, 2) + timedelta(days=i % 30)).isoformat(),
            "paid": i % 3 != 0,
            "note": None if i % 5 == 0 else ("" if i % 5 == 1 else f'note "{i}", with comma\nand newline'),
            "tags": ["gift"] if i % 2 else [],
            "meta": {"channel": "web", "score": i % 10},
        }
        for i in range(start, start + count)
    ]


class OrdersApi:
    """A Relay-paged ``orders`` connection over a list that tests may extend."""

    def __init__(self, orders: list[dict[str, Any]]) -> None:
        self.orders = orders
        self.schema = build_schema(SDL)

    @staticmethod
    def cursor(index: int) -> str:
        return base64.b64encode(f"order:{index}".encode()).decode()

    def resolve_orders(self, _info: Any, first: int = 50, after: str | None = None) -> dict[str, Any]:
        begin = int(base64.b64decode(after).decode().split(":")[1]) + 1 if after else 0
        page = self.orders[begin : begin + first]
        edges = [{"cursor": self.cursor(begin + k), "node": node} for k, node in enumerate(page)]
        return {
            "edges": edges,
            "nodes": page,
            "pageInfo": {
                "hasNextPage": begin + len(page) < len(self.orders),
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
        }

    def app(self) -> Starlette:
        def secret(_info: Any) -> str:
            from graphql import GraphQLError

            raise GraphQLError("not signed in", extensions={"code": "UNAUTHENTICATED"})

        async def endpoint(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {KEY}":
                return JSONResponse({"errors": [{"message": "invalid token"}]}, status_code=401)
            body = await request.json()
            result = graphql_sync(
                self.schema,
                body["query"],
                root_value={"orders": self.resolve_orders, "secret": secret},
                variable_values=body.get("variables"),
            )
            return JSONResponse(result.formatted)

        return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


def source(query: str = QUERY, records_path: str = "orders.edges.node", page_size: int = 100) -> GraphqlSource:
    return GraphqlSource.model_validate(
        {
            "name": "orders_api",
            "type": "graphql",
            "connection_id": "http_orders",
            "owner": "data-platform",
            "schedule": "@hourly",
            "retention_class": "operational",
            "schema_policy": "evolve",
            "endpoints": [
                {
                    "name": "orders",
                    "query": query,
                    "records_path": records_path,
                    "cursor_variable": "after",
                    "next_cursor_field": "orders.pageInfo.endCursor",
                    "page_size": page_size,
                    "primary_key": ["id"],
                }
            ],
        }
    )


def connection(url: str, key: str = KEY) -> Any:
    host, port = url.removeprefix("http://").split(":")
    return make_connection("http_orders", "http", host=host, port=int(port), schema="http", password=key)


def ids(chunks: list[Any]) -> list[str]:
    return [row[0] for chunk in chunks for row in csv.reader(io.StringIO(chunk.data.decode()))]


@pytest.fixture
def orders_api() -> Any:
    api = OrdersApi(make_orders(0, 2_500))
    with serve(api.app()) as url:
        yield api, url


def test_discover_types_from_nodes(orders_api: Any) -> None:
    _api, url = orders_api
    connector = GraphqlConnector(source(), connection(url))
    schema = connector.discover("orders")
    assert [(c.name, c.source_type, c.pg_type) for c in schema.columns] == [
        ("id", "json:string", "text"),
        ("customerId", "json:integer", "bigint"),
        ("total", "json:number", "double precision"),
        ("placedAt", "json:datetime", "timestamptz"),
        ("shipOn", "json:date", "date"),
        ("paid", "json:boolean", "boolean"),
        ("note", "json:string", "text"),
        ("tags", "json:array", "jsonb"),
        ("meta", "json:object", "jsonb"),
    ]
    assert connector.discover("orders") == schema


@pytest.mark.parametrize(("query", "path"), [(QUERY, "orders.edges.node"), (NODES_QUERY, "orders.nodes")])
def test_every_record_once_and_into_postgres(orders_api: Any, copy_target: Any, query: str, path: str) -> None:
    _api, url = orders_api
    connector = GraphqlConnector(source(query, path), connection(url))
    schema = connector.discover("orders")
    chunks = list(connector.extract("orders", schema, CursorState(), chunk_rows=300))
    assert ids(chunks) == [f"o{i:06d}" for i in range(2_500)]
    assert [chunk.rows for chunk in chunks] == [300] * 8 + [100]  # whole pages of 100
    rows = copy_target(schema, chunks)
    assert rows[1] == (
        "o000001", 2, 1.25, datetime(2026, 1, 1, 0, 1, tzinfo=UTC), date(2026, 1, 3), True, "",
        ["gift"], {"channel": "web", "score": 1},
    )  # fmt: skip
    assert rows[0][6] is None and rows[2][6] == 'note "2", with comma\nand newline'


def test_resume_from_the_end_cursor_reads_only_new_records(orders_api: Any) -> None:
    api, url = orders_api
    connector = GraphqlConnector(source(), connection(url))
    schema = connector.discover("orders")
    chunks = list(connector.extract("orders", schema, CursorState(), chunk_rows=1_000))
    token = chunks[-1].token
    assert token == OrdersApi.cursor(2_499)
    assert list(connector.extract("orders", schema, CursorState(token=token), chunk_rows=1_000)) == []
    api.orders.extend(make_orders(2_500, 150))
    later = list(connector.extract("orders", schema, CursorState(token=token), chunk_rows=1_000))
    assert ids(later) == [f"o{i:06d}" for i in range(2_500, 2_650)]
    assert later[-1].token == OrdersApi.cursor(2_649)


def test_every_record_once_when_ten_percent_of_requests_fail() -> None:
    api = OrdersApi(make_orders(0, 5_000))
    app = FaultInjector(api.app(), rate=0.1, prefix="/graphql", seed=5)
    with serve(app) as url:
        connector = GraphqlConnector(
            source(page_size=50), connection(url), retry=RetryPolicy(backoff_base_s=0.001, backoff_max_s=0.01)
        )
        schema = connector.discover("orders")
        before = app.total
        chunks = list(connector.extract("orders", schema, CursorState(), chunk_rows=500))
    assert ids(chunks) == [f"o{i:06d}" for i in range(5_000)]
    assert app.total - before == connector.last_retries > 0
    assert 0.04 <= app.total / (app.total + app.passed) <= 0.2


def test_wrong_key_fails_fast(orders_api: Any) -> None:
    _api, url = orders_api
    connector = GraphqlConnector(source(), connection(url, key="nope"))
    with pytest.raises(SourceAuthError, match=r"HTTP 401 Unauthorized \(invalid token\).*http_orders.*not retried"):
        connector.discover("orders")
    assert connector.last_requests == 1
    ok, message = connector.test_connection()
    assert not ok and "HTTP 401" in message


def test_graphql_errors_fail_the_read(orders_api: Any) -> None:
    _api, url = orders_api
    bad = GraphqlConnector(source(query="query { orders { nope } }", records_path="orders.nodes"), connection(url))
    with pytest.raises(SourceError, match=r"answered with 1 error\(s\): Cannot query field 'nope'"):
        bad.discover("orders")
    secret = GraphqlConnector(source(query="query { secret }", records_path="secret"), connection(url))
    with pytest.raises(SourceAuthError, match="not signed in"):
        secret.discover("orders")


def test_test_connection(orders_api: Any) -> None:
    _api, url = orders_api
    ok, message = GraphqlConnector(source(), connection(url)).test_connection()
    assert ok, message
    assert message.endswith("/graphql: 1 record(s) on the first page")
