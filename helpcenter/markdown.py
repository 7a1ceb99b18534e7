"""Markdown → sanitised HTML for help articles.

markdown-it-py renders CommonMark (raw HTML in the source is escaped, not passed
through); nh3 then keeps only an allow-list of tags and attributes, drops every URL
scheme but http(s) and mailto, and gives every link ``rel="noopener noreferrer"``.
Both steps run when an article is saved; pages show the stored result.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "hr", "h2", "h3", "h4", "h5", "h6",
        "strong", "em", "s", "code", "pre", "blockquote",
        "ul", "ol", "li", "a",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
# No style attributes (table alignment arrives as style="text-align:…"): a strict CSP
# (style-src 'self') would block them anyway.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
_HEADING_END = re.compile(r"([^.!?:\s])\s*</h([2-6])>")


def _image_as_alt_text(
    renderer: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Pages load nothing from other hosts (no CDN, strict CSP), so an image in an article
    # is shown as its description.
    return html.escape(tokens[idx].content)


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])
_markdown.add_render_rule("image", _image_as_alt_text)


def render_markdown(text: str) -> str:
    """The article body as HTML that is safe to mark safe in a template."""
    # The page's own <h1> is the article title, so a "# heading" in the body becomes <h2>.
    rendered = _markdown.render(text).replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


def plain_text(rendered: str, *, limit: int = 280) -> str:
    """The text of rendered HTML, whitespace collapsed and cut at a word boundary."""
    # A heading runs into the next paragraph once tags are gone; end it like a sentence.
    rendered = _HEADING_END.sub(r"\1.</h\2>", rendered)
    text = " ".join(html.unescape(nh3.clean(rendered, tags=set())).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"
