"""A throwaway embedded PostgreSQL for the benchmarks, started the way tests/conftest.py starts one.

``python bench/_pg.py start DIR`` prints a superuser SQLAlchemy URL; ``python bench/_pg.py stop DIR``
destroys the server and its data. Used by scripts/bench.sh when SCROLLINTEL_TEST_DATABASE_URL is unset.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scrollintel import db
from scrollintel.platform.postgres import ADMIN_ROLE, EmbeddedPostgres


def main(action: str, folder: str) -> None:
    server = EmbeddedPostgres(Path(folder) / "postgres")
    if action == "start":
        port = server.start()
        password = server.read_state()["passwords"][ADMIN_ROLE]  # type: ignore[index]
        print(f"{db.DRIVER}://{ADMIN_ROLE}:{password}@127.0.0.1:{port}/postgres")
    elif action == "stop":
        server.destroy()
    else:
        raise SystemExit(f"usage: {sys.argv[0]} start|stop DIR")


if __name__ == "__main__":
    main(*sys.argv[1:3])
