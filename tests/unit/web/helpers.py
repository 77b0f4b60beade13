"""What the page tests without a database share: an unreachable warehouse and what it makes the pages say."""

from __future__ import annotations

#: Nothing listens on port 9 (discard) of the loopback: connecting is refused at once.
UNREACHABLE = "postgresql+psycopg://platform:s3cret-pw@127.0.0.1:9/warehouse"

#: What the pages and the API say when the warehouse refuses the connection (no host, no port).
REFUSED = "Could not connect to the database of the postgres_warehouse connection: connection refused."

#: The Accept header of a browser: the pages answer it with HTML, not JSON.
HTML = {"Accept": "text/html,application/xhtml+xml"}
