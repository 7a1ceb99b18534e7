"""``{% load ui %}``: the blocks the portal, desk and help-centre pages share — a titled
card and a data table with its empty state. The markup lives in templates/includes/; a
page says only what differs, so every card's heading labels its section
(``aria-labelledby``) and every table scrolls and empties the same way."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_block_tag
def card(
    content: SafeString,
    name: str,
    title: str,
    *,
    classes: str = "",
    meta: str = "",
    header: bool = False,
    title_class: str = "",
) -> SafeString:
    """``<section class="card {classes}">`` labelled by its ``<h2 id="{name}-title">``,
    then the block's content. With a ``meta`` note beside the title, or ``header=True``,
    the title sits in the card's header bar."""
    return render_to_string(
        "includes/_card.html",
        {
            "content": content,
            "name": name,
            "title": title,
            "classes": classes,
            "meta": meta,
            "header": header or bool(meta),
            "title_class": title_class,
        },
    )


@register.simple_block_tag
def table(
    content: SafeString,
    rows: object = True,
    *,
    classes: str = "",
    empty: str = "",
    empty_title: str = "",
    empty_icon: str = "",
) -> SafeString:
    """The block's ``<thead>``/``<tbody>`` in a ``table`` that scrolls sideways on a
    narrow screen; when ``rows`` is empty, the empty state instead (``empty_icon``,
    ``empty_title`` and the ``empty`` sentence)."""
    return render_to_string(
        "includes/_table.html",
        {
            "content": content,
            "has_rows": bool(rows),
            "classes": classes,
            "empty": empty,
            "empty_title": empty_title,
            "empty_icon": empty_icon,
        },
    )
