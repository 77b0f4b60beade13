"""GraphQL ``errors`` answers: authentication codes fail as auth errors, others as source errors."""

from __future__ import annotations

import pytest

from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError
from scrollintel.ingest.connectors.graphql import _graphql_error

pytestmark = pytest.mark.unit


def test_authentication_codes() -> None:
    error = _graphql_error(
        "GraphQL orders", [{"message": "login first", "extensions": {"code": "unauthenticated"}}], "c"
    )
    assert isinstance(error, SourceAuthError)
    assert str(error) == (
        "GraphQL orders was refused (login first); check the API key (password of Airflow connection 'c'); not retried"
    )


def test_other_errors_list_the_first_messages() -> None:
    errors = [{"message": f"problem {i}"} for i in range(5)]
    error = _graphql_error("GraphQL orders", errors, "c")
    assert type(error) is SourceError
    assert str(error) == "GraphQL orders answered with 5 error(s): problem 0; problem 1; problem 2"
    assert str(_graphql_error("Q", "boom", "c")) == "Q answered with 1 error(s): boom"
