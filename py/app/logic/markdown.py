"""Markdown for assistant replies, rendered to HTML that model output cannot abuse.

Built on mistune (pure Python) with raw HTML escaped: a reply can format text (headings,
lists, tables, code) but never inject markup or script. Links open in a new tab without
a referrer, ``javascript:``-like URLs are neutralised, and images are shown as links, so a
reply cannot make the page fetch anything. Code blocks get a Copy button.

>>> render_markdown("**bold** <script>alert(1)</script>")
'<p><strong>bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n'
>>> 'href="#harmful-link"' in render_markdown("[x](javascript:alert(1))")
True
"""

from __future__ import annotations

from typing import Any

import mistune
from mistune.util import escape as escape_html

__all__ = ["render_markdown"]


class SafeRenderer(mistune.HTMLRenderer):
    """mistune's HTML renderer, with escaped HTML and no fetches from model output."""

    def __init__(self) -> None:
        super().__init__(escape=True)

    def link(self, text: str, url: str, title: str | None = None) -> str:
        href = escape_html(self.safe_url(url))
        title_attr = f' title="{escape_html(title)}"' if title else ""
        return (
            f'<a href="{href}"{title_attr} target="_blank" '
            f'rel="noopener noreferrer nofollow">{text}</a>'
        )

    def image(self, text: str, url: str, title: str | None = None) -> str:
        label = text or "image"
        return self.link(f"[image: {label}]", url, title)

    def block_code(self, code: str, info: str | None = None) -> str:
        language = (info or "").strip().split(None, 1)[0] if info else ""
        cls = f' class="language-{escape_html(language)}"' if language else ""
        return (
            '<div class="code-block">'
            '<button type="button" class="copy-code" aria-label="Copy code">Copy</button>'
            f"<pre><code{cls}>{escape_html(code)}</code></pre></div>\n"
        )


_markdown: Any = mistune.create_markdown(
    renderer=SafeRenderer(), plugins=["table", "strikethrough", "url"]
)


def render_markdown(text: str) -> str:
    """The reply ``text`` as safe HTML."""
    return str(_markdown(text))
