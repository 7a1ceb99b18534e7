"""One type for every change the rules refuse, and its two renderings.

A service refuses with a subclass of ``Refused`` carrying the message its reader sees,
a stable machine ``code`` and, when one input is at fault, the ``field``. The API maps
it once (``core.api_errors.exception_handler``: the ``{"code", "message", "fields"}``
body with the status for its code); a page maps it once (``into_form`` puts the message
next to its field, ``into_messages`` shows it as a flash message). No view catches a
domain error class by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import ClassVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest

# The HTTP status of a refusal, by its code; any other code is a 400 (the caller's input).
STATUS_BY_CODE: Mapping[str, int] = {
    "forbidden": 403,
    "forbidden_category": 403,
    "not_found": 404,
    "illegal_transition": 409,
    "already_rated": 409,
    "reopen_window": 409,
    "unchanged": 409,
    "inactive": 409,
    # A limit the organization's current state reaches (its webhook endpoints).
    "too_many_endpoints": 409,
    "rate_limited": 429,
    "throttled": 429,
}


class Refused(Exception):
    """A refused change; ``message`` is shown to the person who tried it."""

    # A domain may answer some of its codes with another status than the shared table's
    # (kept where an API's documented answers already differ).
    status_by_code: ClassVar[Mapping[str, int]] = {}

    def __init__(self, message: object, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.field = field

    # Further problems found together with this one (a draft with several bad fields).
    others: tuple[Refused, ...] = ()

    @classmethod
    def together[R: Refused](cls: type[R], problems: list[R]) -> R:
        """One refusal for several problems: the first, carrying the rest."""
        first = problems[0]
        first.others = tuple(problems[1:])
        return first

    @property
    def problems(self) -> tuple[Refused, ...]:
        return (self, *self.others)

    @property
    def http_status(self) -> int:
        if self.code in self.status_by_code:
            return self.status_by_code[self.code]
        return STATUS_BY_CODE.get(self.code, 400)


@contextmanager
def into_form(form: forms.BaseForm, *, field: str | None = None) -> Iterator[None]:
    """Run a service call; a refusal becomes the form's error, next to the refusal's own
    field when the form has it, else next to ``field`` (None: the whole form).

    Code after the call inside the ``with`` block runs only when nothing was refused::

        with into_form(form, field="body"):
            ticket_customer_reply(...)
            return redirect(...)
        return render(... form ...)  # refused: the form shows why
    """
    try:
        yield
    except Refused as refusal:
        for problem in refusal.problems:
            target = problem.field if problem.field in form.fields else field
            if target is None or target not in form.errors:  # the form's own message wins
                form.add_error(target, problem.message)


@contextmanager
def into_messages(request: HttpRequest) -> Iterator[None]:
    """Run a service call; a refusal becomes an error message on the next page."""
    try:
        yield
    except Refused as refusal:
        messages.error(request, refusal.message)


class Outcome:
    """What ``captured`` caught: the refusal, if any."""

    refusal: Refused | None = None

    @property
    def message(self) -> str:
        return self.refusal.message if self.refusal is not None else ""


@contextmanager
def captured() -> Iterator[Outcome]:
    """Run a service call; a refusal is kept on the outcome for a page to show in its
    own place (a confirmation page without a form, say)."""
    outcome = Outcome()
    try:
        yield outcome
    except Refused as refusal:
        outcome.refusal = refusal
