"""The platform's auth manager: Airflow's FAB auth manager, with approvers assigned by user name.

Approval gates assign their approvers from ``governance/teams.yaml``, where members are Airflow
user names (ids in Git; the database ids of FAB users differ per installation and a task cannot
look them up). Airflow checks an answer to a human-in-the-loop task with
``is_authorized_hitl_task``, whose default compares the assigned ids with ``user.get_id()``, the
FAB user's database id. This manager also accepts the user's name, which is what a gate assigns;
everything else is FAB's.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager


class ScrollIntelAuthManager(FabAuthManager):
    """FAB, with human-in-the-loop assignments by user name as well as by id."""

    def is_authorized_hitl_task(self, *, assigned_users: set[str], user: Any) -> bool:
        return super().is_authorized_hitl_task(assigned_users=assigned_users, user=user) or (
            user.get_name() in assigned_users
        )
