"""The demo Slack page shows mrkdwn as Slack would: dates, links, bold and code; nothing else becomes markup."""

from __future__ import annotations

import pytest

from scrollintel.demo.slack_workspace import _mrkdwn

pytestmark = pytest.mark.unit


def test_dates_links_bold_and_code_are_rendered() -> None:
    text = (
        "*Schema change* due <!date^1796551200^{date_short_pretty} {time}|2026-12-06 10:00 UTC>: "
        "<http://127.0.0.1:8080/dags?a=1&amp;b=2|Open in Airflow>\n```a &lt; b```"
    )
    assert _mrkdwn(text) == (
        '<b>Schema change</b> due <time datetime="2026-12-06T10:00:00+00:00">2026-12-06 10:00 UTC</time>: '
        '<a href="http://127.0.0.1:8080/dags?a=1&amp;b=2">Open in Airflow</a><br><pre>a &lt; b</pre>'
    )


@pytest.mark.parametrize(
    "text",
    ["&lt;script&gt;alert(1)&lt;/script&gt;", "<javascript:alert(1)|click>", '<http://x" onmouseover="y|z>'],
)
def test_nothing_else_becomes_markup(text: str) -> None:
    rendered = _mrkdwn(text)
    assert "<script" not in rendered and "javascript:" not in rendered.split("&lt;")[0]
    assert 'onmouseover="' not in rendered
