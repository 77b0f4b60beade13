"""The masking salt: from its Airflow connection into the dbt session, at run time only.

dbt/macros/masking.sql reads the salt from the PostgreSQL setting ``scrollintel.masking_salt``,
which reaches the session through libpq's ``PGOPTIONS`` (``-c scrollintel.masking_salt=<salt>``),
so it is in no SQL text, compiled file or log. Cosmos runs
:func:`inject_masking_salt` (an operator *interceptor*) right before building each dbt command:
after the task's template fields were rendered, so the salt is not a rendered field either, and
fetching it through Airflow's connection API registers it with the secrets masker.

The salt is the password of the Airflow connection ``warehouse_masking_salt`` (the launcher
generates one per checkout; production puts it in its secrets backend).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ConfigError

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Airflow connection whose password is the masking salt.
MASKING_SALT_CONN_ID = "warehouse_masking_salt"
#: The PostgreSQL setting the masking macros read.
SALT_SETTING = "scrollintel.masking_salt"
MIN_SALT_LENGTH = 16
# PGOPTIONS is split on whitespace, and a backslash escapes: a salt must contain neither.
_SALT = re.compile(r"[^\s\\]+")


def session_options(salt: str | None, existing: str | None = None) -> str:
    """``PGOPTIONS`` with the salt setting appended to ``existing``.

    ConfigError when the salt is unusable; the message never contains the salt.
    """
    if not salt or len(salt) < MIN_SALT_LENGTH or not _SALT.fullmatch(salt):
        raise ConfigError(
            f"connection {MASKING_SALT_CONN_ID}: the masking salt (its password) must be at least "
            f"{MIN_SALT_LENGTH} characters without spaces or backslashes"
        )
    option = f"-c {SALT_SETTING}={salt}"
    return f"{existing.strip()} {option}" if existing and existing.strip() else option


def masking_salt(conn_id: str = MASKING_SALT_CONN_ID) -> str | None:
    """The salt from the Airflow connection ``conn_id`` (the secrets masker learns it on the way)."""
    from airflow.sdk import BaseHook

    password = BaseHook.get_connection(conn_id).password
    return str(password) if password else None


def inject_masking_salt(context: Context, operator: Any) -> None:
    """Cosmos interceptor: add the salt to the environment of the dbt command ``operator`` is about to run.

    The operator's ``env`` is replaced, not changed in place: the dict passed at parse time is
    shared by every task of the group.
    """
    existing = (operator.env or {}).get("PGOPTIONS", os.environ.get("PGOPTIONS"))
    operator.env = {**(operator.env or {}), "PGOPTIONS": session_options(masking_salt(), existing)}
