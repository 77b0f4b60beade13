"""The app's stylesheet, page scripts and vendored JS libraries, served behind the same authentication.

A ``StaticFiles`` mount would skip the app-level dependency (Starlette mounts do not run FastAPI
dependencies), so files are served by an ordinary route instead. Only files inside ``web/static/``
(its sub-folders included, e.g. ``vendor/cytoscape/``) are served; a path that resolves outside
it is a 404, and so is a name the file system refuses (too long, a NUL byte).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/static/{filename:path}", name="static", include_in_schema=False)
def static_file(filename: str) -> Response:
    """Return ``filename`` (a path relative to the static folder), or 404 for anything else."""
    try:
        candidate = (STATIC_DIR / filename).resolve()
        found = candidate.is_relative_to(STATIC_DIR) and candidate.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte: no such file either
        found = False
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found")
    media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
    return FileResponse(candidate, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})
