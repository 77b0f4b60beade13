"""Where the gates keep their files, and the GX data docs site the web app serves.

Under the platform's state folder (``SCROLLINTEL_HOME``, default ``.scrollintel/``)::

    quality/data-docs/        the GX data docs site (index.html, validations/, expectations/, static/)
    quality/gx-validations/   GX validation results (JSON), so the docs index lists past runs too
    quality/gx-suites/        the suites as last validated (with their run-time bounds)

and under the object store: ``quality/checkpoint/<dataset>/<dag>__<run>__<task>__try<n>.json``,
the full result of each dataset in each gate run (the path the failure message names).

The web app serves the docs site at :data:`DOCS_URL` (``/scrollintel/quality/docs/...``) through
:func:`resolve_docs_file`, which only ever returns a regular file inside the docs folder; the
gates name a page's address with :func:`docs_page_url`.
The newest :data:`KEEP_RUNS` validations per dataset are kept (older JSON and HTML pages are
removed before each build), so the site and its index stay small.

GX pages pull Bootstrap, Font Awesome and jQuery from CDNs and inline their styles and scripts;
the web app's content security policy allows none of it (and should not). After each build
:func:`make_pages_self_contained` removes those tags and links GX's own local stylesheet plus
``data_docs.css`` (shipped next to this module) instead, so the pages read well offline and
under the policy. GX's index page is a script-built table; the web app lists the pages itself.
"""

from __future__ import annotations

import fcntl
import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from scrollintel import settings

log = logging.getLogger(__name__)

#: Validation results kept per dataset (data docs pages included).
KEEP_RUNS = 30
LOCK_FILE = ".gates.lock"
#: The docs site's route in the governance web app (:mod:`scrollintel.web.routes.quality` serves it).
DOCS_ROUTE = "/quality/docs"
#: The docs site's path on the Airflow api-server, where the plugin mounts the web app at ``/scrollintel``.
DOCS_URL = f"{settings.WEB_URL_PREFIX}{DOCS_ROUTE}"
#: The stylesheet that replaces the CDN ones, and GX's own default sheet (both inside the site).
STYLESHEET = "static/styles/scrollintel-data-docs.css"
GX_STYLESHEET = "static/styles/data_docs_default_styles.css"
#: Marks a page already rewritten (pages of earlier runs are not touched again).
SELF_CONTAINED_MARK = "<!-- scrollintel: self-contained -->"
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_STYLE = re.compile(r"<style\b[^>]*>.*?</style\s*>", re.IGNORECASE | re.DOTALL)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)


def quality_dir() -> Path:
    """``<state>/quality``: the gates' local files."""
    return settings.state_dir() / "quality"


def docs_dir() -> Path:
    """The data docs site (its ``index.html`` is the entry page)."""
    return quality_dir() / "data-docs"


def docs_page_url(docs_path: str) -> str:
    """The api-server path of a data docs page (``docs_path`` is relative to the site)."""
    return f"{DOCS_URL}/{quote(docs_path)}"


def validations_dir() -> Path:
    """GX's validation results store (JSON files)."""
    return quality_dir() / "gx-validations"


def suites_store_dir() -> Path:
    """GX's expectation suite store (the suites as last validated)."""
    return quality_dir() / "gx-suites"


def results_dir() -> Path:
    """Full results of every gate run, per dataset, in the object store."""
    return settings.object_store_dir() / "quality" / "checkpoint"


@contextmanager
def gates_lock() -> Iterator[None]:
    """One gate at a time writes the GX stores and the docs site on this machine (an exclusive file lock)."""
    folder = quality_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def relative_docs_path(url_or_path: str, root: Path | None = None) -> str | None:
    """A docs page (``file://`` URL or path) as a path relative to the docs folder; None when outside it."""
    base = (root or docs_dir()).resolve()
    text = url_or_path.removeprefix("file://")
    try:
        return Path(text).resolve().relative_to(base).as_posix()
    except ValueError:
        return None


def resolve_docs_file(relative: str, root: Path | None = None) -> Path | None:
    """The regular file ``relative`` (a URL path) names inside the docs folder, or None.

    No traversal: ``..``, absolute paths, hidden names (``.gates.lock``, dotfiles) and symlinks
    leading outside are refused; an empty path or a folder means its ``index.html``.
    """
    base = (root or docs_dir()).resolve()
    parts = PurePosixPath(relative).parts if relative else ()
    if any(part in ("..", "/") or part.startswith(".") or "\\" in part or "\x00" in part for part in parts):
        return None
    candidate = base.joinpath(*parts)
    try:  # a name the file system refuses (too long: ENAMETOOLONG) is no file either
        if candidate.is_dir():
            candidate = candidate / "index.html"
        resolved = candidate.resolve(strict=True)
        if not resolved.is_relative_to(base) or not resolved.is_file():
            return None
    except (RuntimeError, OSError):
        return None
    return resolved


def prune_validations(keep: int = KEEP_RUNS) -> int:
    """Remove all but the ``keep`` newest validation results of each dataset (JSON and docs page).

    The stores are laid out ``<schema>/<table>/<run name>/<run time>/<batch>.json``; run times
    (``20261122T041456.596087Z``) sort in time order. Returns how many results were removed.
    """
    store, site = validations_dir(), docs_dir() / "validations"
    if not store.is_dir():
        return 0
    removed = 0
    for table_dir in (path for schema in store.iterdir() if schema.is_dir() for path in schema.iterdir()):
        if not table_dir.is_dir():
            continue
        results = sorted(table_dir.glob("*/*/*.json"), key=lambda path: (path.parent.name, path.parent.parent.name))
        for old in results[: max(0, len(results) - keep)]:
            relative = old.relative_to(store)
            old.unlink(missing_ok=True)
            (site / relative.with_suffix(".html")).unlink(missing_ok=True)
            removed += 1
        for base in (table_dir, site / table_dir.relative_to(store)):
            _remove_empty_dirs(base)
    if removed:
        log.info("data docs: removed %d validation result(s) beyond the newest %d per dataset", removed, keep)
    return removed


def _remove_empty_dirs(base: Path) -> None:
    if not base.is_dir():
        return
    for folder in sorted((p for p in base.glob("**/*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)


def make_pages_self_contained(root: Path | None = None) -> int:
    """Rewrite the site's HTML pages to load nothing remote and run no script; returns pages rewritten.

    Removes ``<script>`` blocks, ``<style>`` blocks and ``<link>`` tags to other hosts, and links
    GX's local default stylesheet and :data:`STYLESHEET` (copied into the site) instead.
    Idempotent: rewritten pages carry :data:`SELF_CONTAINED_MARK` and are skipped.
    """
    site = root or docs_dir()
    if not site.is_dir():
        return 0
    sheet = site / STYLESHEET
    sheet.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("data_docs.css"), sheet)
    rewritten = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if SELF_CONTAINED_MARK in text:
            continue
        up = "../" * (len(page.relative_to(site).parts) - 1)
        links = (
            f'{SELF_CONTAINED_MARK}<link rel="stylesheet" href="{up}{GX_STYLESHEET}">'
            f'<link rel="stylesheet" href="{up}{STYLESHEET}">'
        )
        text = _REMOTE_LINK.sub("", _STYLE.sub("", _SCRIPT.sub("", text)))
        text = text.replace("</head>", f"{links}</head>", 1) if "</head>" in text else links + text
        page.write_text(text, encoding="utf-8")
        rewritten += 1
    return rewritten
