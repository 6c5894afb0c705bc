"""Text and time values as platforms write them, made canonical."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "template", "head", "title"})
    _BLOCK = frozenset(
        {
            "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5",
            "h6", "blockquote", "pre", "hr", "section", "article", "dd", "dt",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        # (target, where the link's text starts in ``parts``) of the open <a> tags.
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag == "a":
            href = next((value for name, value in attrs if name == "href"), None)
            self._links.append((_link_target(href), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag == "a" and self._links:
            target, start = self._links.pop()
            label = "".join(self.parts[start:]).strip()
            if target and target not in label:
                # The target stays in the text, after what the link said.
                self.parts.append(f" ({target})" if label else f" {target}")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _link_target(href: str | None) -> str | None:
    """An absolute http(s) or mailto link target; page anchors and scripts are dropped."""
    href = (href or "").strip()
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    if scheme in ("http", "https") and "//" in href:
        return href
    if scheme == "mailto":
        return href[len("mailto:") :] or None
    return None


def html_to_text(value: object) -> str | None:
    """Tags stripped (scripts dropped), entities decoded, spaces collapsed, paragraphs kept
    as blank lines, link targets kept after their text; ``None`` for anything that is
    not a non-blank string.

    >>> html_to_text("<p>公交线路</p><p>Bus&nbsp;routes</p>")
    '公交线路\\n\\nBus routes'
    >>> html_to_text('See <a href="https://example.org/doc">the guide</a>.')
    'See the guide (https://example.org/doc).'
    """
    if not isinstance(value, str) or not value.strip():
        return None
    if "<" not in value and "&" not in value:
        text = value
    else:
        parser = _TextExtractor()
        parser.feed(value)
        parser.close()
        text = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None


def parse_timestamp(value: object) -> datetime | None:
    """ISO 8601 with or without microseconds, ``Z`` or an offset, or a date; a time without
    a zone is UTC; ``None`` for anything else (never an exception)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
