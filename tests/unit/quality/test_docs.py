"""The data docs folder: pruning old validations, pages made self-contained, paths kept inside the site."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrollintel.quality import docs

pytestmark = pytest.mark.unit

GX_PAGE = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<link rel="stylesheet" href="//cdn.example.org/x.css">
<style>body { color: red; }</style>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<link rel="shortcut icon" href="../../static/images/favicon.ico" type="image/x-icon"/>
</head><body><p>result</p><SCRIPT>
alert(1)
</SCRIPT></body></html>"""


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    return tmp_path


def test_pages_load_nothing_remote_and_run_no_script(state: Path) -> None:
    page = docs.docs_dir() / "validations" / "marts" / "orders" / "run.html"
    page.parent.mkdir(parents=True)
    page.write_text(GX_PAGE, encoding="utf-8")

    assert docs.make_pages_self_contained() == 1
    assert docs.make_pages_self_contained() == 0  # idempotent

    html = page.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<style" not in html and "http" not in html and "//cdn" not in html
    assert '<link rel="stylesheet" href="../../../static/styles/scrollintel-data-docs.css">' in html
    assert '<link rel="stylesheet" href="../../../static/styles/data_docs_default_styles.css">' in html
    assert 'href="../../static/images/favicon.ico"' in html  # local links stay
    assert "<p>result</p>" in html
    sheet = (docs.docs_dir() / docs.STYLESHEET).read_text(encoding="utf-8")
    assert "url(" not in sheet and "@import" not in sheet


def test_only_the_newest_validations_per_dataset_are_kept(state: Path) -> None:
    store, site = docs.validations_dir(), docs.docs_dir() / "validations"
    for index in range(5):
        for base, suffix in ((store, "json"), (site, "html")):
            folder = base / "marts" / "orders" / f"run{index}" / f"20260101T00000{index}.000000Z"
            folder.mkdir(parents=True)
            (folder / f"batch.{suffix}").write_text("{}", encoding="utf-8")
    other = store / "marts" / "customers" / "run0" / "20250101T000000.000000Z" / "batch.json"
    other.parent.mkdir(parents=True)
    other.write_text("{}", encoding="utf-8")

    removed = docs.prune_validations(keep=2)

    assert removed == 3
    assert sorted(p.parent.name for p in (store / "marts" / "orders").glob("*/*/*.json")) == [
        "20260101T000003.000000Z",
        "20260101T000004.000000Z",
    ]
    assert sorted(p.parts[-3] for p in (site / "marts" / "orders").glob("*/*/*.html")) == ["run3", "run4"]
    assert not (store / "marts" / "orders" / "run0").exists()  # emptied folders go too
    assert other.exists()


def test_relative_docs_paths_stay_inside_the_site(state: Path) -> None:
    root = docs.docs_dir()

    assert docs.relative_docs_path(f"file://{root}/validations/a/b.html") == "validations/a/b.html"
    assert docs.relative_docs_path(f"file://{root}/../secrets.json") is None
    assert docs.relative_docs_path("/elsewhere/x.html") is None


def test_a_docs_page_url_is_where_the_web_app_serves_it() -> None:
    from scrollintel.web import URL_PREFIX

    assert f"{URL_PREFIX}{docs.DOCS_ROUTE}" == docs.DOCS_URL
    assert docs.docs_page_url("validations/marts/orders/run #1.html") == (
        f"{URL_PREFIX}/quality/docs/validations/marts/orders/run%20%231.html"
    )
