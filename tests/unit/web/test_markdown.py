"""Approval requests' Markdown bodies on the page: tables rendered, HTML written in them escaped."""

from __future__ import annotations

import pytest

from scrollintel.web.templating import markdown

pytestmark = pytest.mark.unit


def test_a_request_body_renders_its_table_and_emphasis() -> None:
    html = str(markdown("**shop.orders changed**\n\n| | |\n| --- | --- |\n| gift_wrap | added (text) |\n"))

    assert "<strong>shop.orders changed</strong>" in html
    assert "<td>gift_wrap</td>" in html and "<td>added (text)</td>" in html


def test_html_in_a_body_is_shown_as_text_never_run() -> None:
    html = str(markdown("<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"))

    assert "<script>" not in html and "<img" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;" in html
