"""Users, roles and permissions the platform needs in Airflow's FAB auth manager (idempotent).

Run by the launcher as ``python -m scrollintel.platform.fab_bootstrap`` with the Airflow
environment and a JSON plan on standard input (passwords never appear on a command line):

    {"roles": {"ScrollIntelAuditReader": [["can_read", "Audit Logs"], ...]},  # exactly these
     "grants": [{"roles": ["Viewer"], "permission": ["can_read", "Plugins"]}],
     "users": [{"username": "admin", "role": "Admin", "password": "...", "reset_password": false, ...}]}

One process does what would otherwise take one ``airflow users``/``airflow roles`` command
(~8 s of start-up each) per user and grant.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def apply(plan: dict[str, Any]) -> list[str]:
    """Apply ``plan``; returns what changed (empty when everything was already in place)."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    changes: list[str] = []
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        for role_name, permissions in plan.get("roles", {}).items():
            changes.extend(_set_role(sm, role_name, permissions))
        for grant in plan.get("grants", []):
            action, resource = grant["permission"]
            for role_name in grant["roles"]:
                role = sm.find_role(role_name)
                if role is None:
                    raise SystemExit(f"role {role_name!r} does not exist")
                if (action, resource) not in {(p.action.name, p.resource.name) for p in role.permissions}:
                    sm.add_permission_to_role(role, sm.create_permission(action, resource))
                    changes.append(f"role {role_name}: {action} on {resource}")
        for spec in plan.get("users", []):
            role = sm.find_role(spec["role"])
            if role is None:
                raise SystemExit(f"role {spec['role']!r} does not exist")
            user = sm.find_user(username=spec["username"])
            if user is None:
                created = sm.add_user(
                    spec["username"], spec["firstname"], spec["lastname"], spec["email"], role, spec["password"]
                )
                if not created:
                    raise SystemExit(f"could not create user {spec['username']!r}")
                changes.append(f"user {spec['username']} created ({spec['role']})")
            elif spec.get("reset_password"):
                sm.reset_password(user.id, spec["password"])
    return changes


def _set_role(sm: Any, role_name: str, permissions: list[list[str]]) -> list[str]:
    """A service role holding exactly ``permissions``: missing ones granted, any other revoked."""
    changes: list[str] = []
    role = sm.find_role(role_name) or sm.add_role(role_name)
    wanted = {(action, resource) for action, resource in permissions}
    for permission in list(role.permissions):
        if (permission.action.name, permission.resource.name) not in wanted:
            sm.remove_permission_from_role(role, permission)
            changes.append(f"role {role_name}: no more {permission.action.name} on {permission.resource.name}")
    have = {(p.action.name, p.resource.name) for p in role.permissions}
    for action, resource in permissions:
        if (action, resource) not in have:
            sm.add_permission_to_role(role, sm.create_permission(action, resource))
            changes.append(f"role {role_name}: {action} on {resource}")
    return changes


def main() -> None:
    """Read the plan from standard input, apply it, print the changes."""
    for line in apply(json.load(sys.stdin)):
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
