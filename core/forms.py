"""Typed access to a form's own fields, for choices and querysets set per request."""

from __future__ import annotations

from django import forms


def form_field[F: forms.Field](form: forms.BaseForm, name: str, kind: type[F]) -> F:
    """The form's copy of field ``name`` as the ``kind`` it was declared with.

    ``form.fields`` holds plain ``Field``s as far as a type checker knows; a form that
    sets a field's choices or queryset in ``__init__`` reads it through here, so a field
    redeclared as another kind fails loudly instead of silently ignoring the choices.
    """
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is a {type(field).__name__}, not {kind}")
    return field
