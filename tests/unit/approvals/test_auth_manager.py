"""Who may answer a human-in-the-loop task under the platform's auth manager."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def _user(user_id: int, username: str) -> object:
    from airflow.providers.fab.auth_manager.models import User

    user = User()
    user.id = user_id
    user.username = username
    return user


@pytest.mark.parametrize(
    ("assigned", "allowed"),
    [
        ({"dp-lead"}, True),  # what an approval gate assigns: the user name from teams.yaml
        ({"an-lead", "dp-lead"}, True),
        ({"7"}, True),  # FAB's own rule: the database id
        ({"an-lead"}, False),
        ({"8"}, False),
    ],
)
def test_an_assigned_user_is_recognised_by_name_or_by_id(assigned: set[str], allowed: bool) -> None:
    from scrollintel.platform.auth_manager import ScrollIntelAuthManager

    manager = ScrollIntelAuthManager()

    assert manager.is_authorized_hitl_task(assigned_users=assigned, user=_user(7, "dp-lead")) is allowed
