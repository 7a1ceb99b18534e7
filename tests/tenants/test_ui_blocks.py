"""The shared page blocks (templates/includes/, ``{% load ui %}``): each draws the markup
the pages relied on before they shared it, and escapes every value it is given."""

from __future__ import annotations

from django import forms
from django.template import engines

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def render(source: str, **context: object) -> str:
    return engines["django"].from_string(source).render(context).strip()


def test_a_card_is_labelled_by_its_heading() -> None:
    html = render(
        '{% load ui %}{% card "keys" title classes="card-flush" %}<p>body</p>{% endcard %}',
        title=HOSTILE,
    )
    assert html.startswith('<section class="card card-flush" aria-labelledby="keys-title">')
    assert f'<h2 id="keys-title">{ESCAPED}</h2>' in html
    assert "<p>body</p>" in html
    assert "card-header" not in html
    assert "<script>" not in html


def test_a_card_note_puts_the_title_in_the_header_bar() -> None:
    html = render(
        '{% load ui %}{% card "members" "Members" meta=note %}x{% endcard %}', note=HOSTILE
    )
    assert '<div class="card-header">' in html
    assert f'<span class="muted small">{ESCAPED}</span>' in html
    bare = render(
        '{% load ui %}{% card "log" "Deliveries" header=True title_class="visually-hidden" %}'
        "x{% endcard %}"
    )
    assert '<div class="card-header">' in bare
    assert '<h2 id="log-title" class="visually-hidden">Deliveries</h2>' in bare
    assert "muted small" not in bare


def test_a_table_or_its_empty_state() -> None:
    source = (
        '{% load ui %}{% table rows classes="table-compact" empty=empty empty_title="None yet"'
        ' empty_icon="∅" %}<tbody><tr><td>row</td></tr></tbody>{% endtable %}'
    )
    full = render(source, rows=[1], empty=HOSTILE)
    assert '<div class="table-wrap">' in full
    assert '<table class="table table-compact"><tbody><tr><td>row</td></tr></tbody></table>' in full
    assert "empty-state" not in full
    empty = render(source, rows=[], empty=HOSTILE)
    assert "<table" not in empty
    assert '<div class="empty-state">' in empty
    assert '<div class="empty-state-icon" aria-hidden="true">∅</div>' in empty
    assert "<h3>None yet</h3>" in empty
    assert f"<p>{ESCAPED}</p>" in empty
    # Without rows the table is always drawn (a list that is never empty).
    assert "<table" in render("{% load ui %}{% table %}<tbody></tbody>{% endtable %}")


class _Form(forms.Form):
    name = forms.CharField()

    def clean(self) -> dict[str, object]:
        if self.data.get("name") == "refuse":
            raise forms.ValidationError(HOSTILE)
        return self.cleaned_data


def test_form_errors_show_the_non_field_errors_or_the_summary() -> None:
    include = (
        '{% include "includes/_form_errors.html" with form=form summary="Check the fields." only %}'
    )
    refused = render(include, form=_Form({"name": "refuse"}))
    assert refused.startswith(
        '<div class="form-errors" role="alert"><ul class="errorlist nonfield">'
    )
    assert ESCAPED in refused
    assert "Check the fields." not in refused
    missing = render(include, form=_Form({}))
    assert (
        missing
        == '<div class="form-errors" role="alert"><p class="mb-0">Check the fields.</p></div>'
    )
    assert render(include, form=_Form({"name": "fine"})) == ""
    # No summary given: field errors stay next to their fields only.
    without_summary = '{% include "includes/_form_errors.html" with form=form only %}'
    assert render(without_summary, form=_Form({})) == ""


def test_form_errors_from_a_list_or_one_message() -> None:
    listed = render(
        '{% include "includes/_form_errors.html" with errors=errors only %}',
        errors=[HOSTILE, "two"],
    )
    assert listed == (
        '<div class="form-errors" role="alert">'
        f'<ul class="errorlist"><li>{ESCAPED}</li><li>two</li></ul></div>'
    )
    one = render(
        '{% include "includes/_form_errors.html" with message=message only %}', message=HOSTILE
    )
    assert one == f'<div class="form-errors" role="alert"><p class="mb-0">{ESCAPED}</p></div>'
    nothing = '{% include "includes/_form_errors.html" with errors=none only %}'
    assert render(nothing, none=[]) == ""


def test_a_secret_shown_once() -> None:
    html = render(
        '{% include "includes/_shown_once.html" with name="issued" title=title'
        ' lead="Copy it now." secret=secret testid="new-api-key"'
        ' usage="Send it as: Bearer <key>" only %}',
        title=HOSTILE,
        secret="sdk_abc<def>",
    )
    assert html.startswith(
        '<div class="callout callout-success" role="status" aria-labelledby="issued-title">'
    )
    assert f'<h2 id="issued-title">{ESCAPED}</h2>' in html
    assert '<code class="secret" data-testid="new-api-key">sdk_abc&lt;def&gt;</code>' in html
    # A translated literal is trusted as markup by Django; the hint's <key> is text.
    assert '<p class="small muted">Send it as: Bearer &lt;key&gt;</p>' in html
