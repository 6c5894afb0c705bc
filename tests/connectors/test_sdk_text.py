from __future__ import annotations

import pytest

from connectors.sdk import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            'See <a href="https://example.org/guide">the guide</a>.',
            "See the guide (https://example.org/guide).",
        ),
        (  # the target is already the text: not repeated
            '<a href="https://data.cityofnewyork.us/">https://data.cityofnewyork.us/</a>',
            "https://data.cityofnewyork.us/",
        ),
        ('<a href="mailto:open@city.gov">Write to us</a>', "Write to us (open@city.gov)"),
        ('Map: <a href="https://maps.example.org/1"></a>', "Map: https://maps.example.org/1"),
        (  # anchors, scripts and relative links lead nowhere outside the page
            '<a href="#top">Top</a> <a href="javascript:void(0)">Print</a> <a href="/x">X</a>',
            "Top Print X",
        ),
        (
            '<p>Data <a href="https://a.example/one"><b>one</b></a></p>'
            '<p><a href="http://b.example/two">two</a></p>',
            "Data one (https://a.example/one)\n\ntwo (http://b.example/two)",
        ),
    ],
)
def test_html_descriptions_keep_their_link_targets(html: str, text: str) -> None:
    assert html_to_text(html) == text
