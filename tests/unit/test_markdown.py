"""Assistant replies render as Markdown, and model output can never inject HTML or script."""

from __future__ import annotations

import pytest

from app.logic.markdown import render_markdown

INJECTIONS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<div onclick="alert(1)">raw html block</div>\n\ntext',
    '<iframe src="https://evil.example"></iframe>',
    "<a href='javascript:alert(1)'>x</a>",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
]
HARMFUL_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_raw_html_is_shown_as_text(text: str) -> None:
    html = render_markdown(text)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert "<svg" not in html and "<style" not in html and "<div onclick" not in html
    assert "&lt;" in html


@pytest.mark.parametrize("url", HARMFUL_URLS)
def test_harmful_links_are_neutralised(url: str) -> None:
    html = render_markdown(f"[click]({url}) and ![pic]({url})")
    assert "javascript:" not in html.lower() and "vbscript:" not in html.lower()
    assert "data:text/html" not in html
    assert html.count('href="#harmful-link"') == 2


def test_images_never_fetch_they_become_links() -> None:
    html = render_markdown("![a cat](https://example.org/cat.png)")
    assert "<img" not in html
    assert 'href="https://example.org/cat.png"' in html and "[image: a cat]" in html


def test_links_open_safely() -> None:
    html = render_markdown('[docs](https://example.org/docs "Docs")')
    assert 'target="_blank"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert 'title="Docs"' in html


def test_headings_lists_tables_and_code() -> None:
    html = render_markdown(
        "# Title\n\n1. one\n2. two\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n"
        "```python\nprint('<b>hi</b>')\n```\n\n~~gone~~ and `inline <i>`"
    )
    assert "<h1>Title</h1>" in html
    assert "<ol>" in html and "<ul>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert '<code class="language-python">print(&#x27;&lt;b&gt;hi&lt;/b&gt;&#x27;)' in html or (
        "<code class=\"language-python\">print('&lt;b&gt;hi&lt;/b&gt;')" in html
    )
    assert 'class="copy-code"' in html
    assert "<del>gone</del>" in html
    assert "<code>inline &lt;i&gt;</code>" in html


def test_an_unfinished_stream_still_renders() -> None:
    html = render_markdown("Here is code:\n\n```js\nconsole.log(")
    assert "console.log(" in html and "<pre>" in html
