"""The vendored browser libraries: what static/vendor/README.md records is what ships, with licenses, no eval."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from scrollintel.web.routes.static import STATIC_DIR

pytestmark = pytest.mark.unit

VENDOR_DIR = STATIC_DIR / "vendor"
SCRIPTS = ["cytoscape/cytoscape.min.js", "cytoscape-dagre/cytoscape-dagre.min.js"]
CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$", re.MULTILINE)
REPO_ROOT = Path(__file__).resolve().parents[3]


def recorded_checksums() -> dict[str, str]:
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    return {path: digest for digest, path in CHECKSUM_LINE.findall(readme)}


def test_every_vendored_file_matches_its_recorded_checksum() -> None:
    recorded = recorded_checksums()
    on_disk = sorted(p.relative_to(VENDOR_DIR).as_posix() for p in VENDOR_DIR.rglob("*") if p.is_file())

    assert sorted(recorded) == [p for p in on_disk if p != "README.md"], "README.md and the files disagree"
    for path, digest in recorded.items():
        actual = hashlib.sha256((VENDOR_DIR / path).read_bytes()).hexdigest()
        assert actual == digest, f"{path}: sha256 {actual}, README.md records {digest}; rerun scripts/vendor_js.sh"


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_library_ships_with_its_license(script: str) -> None:
    folder = (VENDOR_DIR / script).parent

    licenses = sorted(p.name for p in folder.glob("LICENSE*"))

    assert "LICENSE" in licenses
    for name in licenses:
        assert "Permission is hereby granted, free of charge" in (folder / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_library_needs_eval(script: str) -> None:
    """The pages' CSP (script-src 'self', no 'unsafe-eval') would break a library that evaluates strings."""
    source = (VENDOR_DIR / script).read_text(encoding="utf-8")

    assert "new Function(" not in source
    assert re.search(r"[^.\w]eval\(", source) is None


def test_readme_names_the_versions_the_script_pins() -> None:
    script = (REPO_ROOT / "scripts" / "vendor_js.sh").read_text(encoding="utf-8")
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    pins = dict(re.findall(r'^([A-Z_]+_VERSION)="([^"]+)"$', script, re.MULTILINE))

    assert set(pins) == {"CYTOSCAPE_VERSION", "CYTOSCAPE_DAGRE_VERSION", "DAGRE_VERSION", "GRAPHLIB_VERSION"}
    for package, pin in (("cytoscape", "CYTOSCAPE_VERSION"), ("cytoscape-dagre", "CYTOSCAPE_DAGRE_VERSION")):
        assert f"| [{package}](https://www.npmjs.com/package/{package}) | {pins[pin]} |" in readme, package
