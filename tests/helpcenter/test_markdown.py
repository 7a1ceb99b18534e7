"""Article Markdown is rendered and sanitised before anything marks it safe (pure)."""

from __future__ import annotations

import re

import pytest

from helpcenter.markdown import ALLOWED_TAGS, plain_text, render_markdown


def test_markdown_becomes_html() -> None:
    html = render_markdown("## Steps\n\n1. Open **Settings**\n2. Save\n\n`code`")
    assert "<h2>Steps</h2>" in html
    assert "<ol>" in html
    assert "<strong>Settings</strong>" in html
    assert "<code>code</code>" in html


def test_a_level_one_heading_is_demoted_below_the_page_title() -> None:
    assert render_markdown("# Title") == "<h2>Title</h2>\n"


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<iframe src="https://evil.test"></iframe>',
        "<b onclick=alert(1)>bold</b>",
    ],
)
def test_raw_html_never_survives(source: str) -> None:
    html = render_markdown(source)
    # Whatever the source, the output holds only allowed tags, none with a handler: the
    # source's markup is shown as text.
    assert set(re.findall(r"<(\w+)", html)) <= ALLOWED_TAGS
    assert not re.search(r"<[^>]*\son\w+\s*=", html)
    assert "&lt;" in html


@pytest.mark.parametrize(
    "link", ["[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](data:text/html,hi)"]
)
def test_dangerous_link_schemes_are_dropped(link: str) -> None:
    html = render_markdown(link)
    assert 'href="javascript' not in html.lower()
    assert 'href="data' not in html.lower()


def test_links_get_noopener() -> None:
    html = render_markdown("[docs](https://example.test/docs)")
    assert '<a href="https://example.test/docs" rel="noopener noreferrer">docs</a>' in html


def test_images_become_their_description() -> None:
    html = render_markdown("![The admin centre](https://cdn.example.test/a.png)")
    assert "<img" not in html
    assert "The admin centre" in html


def test_tables_render_without_inline_styles() -> None:
    html = render_markdown("| a | b |\n|:-|-:|\n| 1 | 2 |")
    assert "<table>" in html
    assert "style=" not in html


def test_plain_text_cuts_at_a_word() -> None:
    html = render_markdown("Alpha beta gamma delta & epsilon")
    assert plain_text(html) == "Alpha beta gamma delta & epsilon"
    assert plain_text(html, limit=15) == "Alpha beta…"


def test_plain_text_ends_headings_like_sentences() -> None:
    html = render_markdown("## Create it\n\nOpen the admin centre.\n\n## Done?\n\nYes.")
    assert plain_text(html) == "Create it. Open the admin centre. Done? Yes."
