"""Serializer pieces every API of the project shares.

The OpenAPI schema is generated from these serializers, so what they accept is what the
schema says: a JSON body's values must have the JSON type the schema gives (``"5"`` is no
integer, ``0`` no string, ``1`` no boolean), unknown fields are refused (the schema says
``additionalProperties: false``), and a text's limits hold for the text as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

from core.api_errors import MSG_UNKNOWN_FIELD

MSG_STRING = _("Must be a string.")
MSG_INTEGER = _("Must be a whole number.")
MSG_BOOLEAN = _("Must be true or false.")
MSG_LIST = _("Must be a list.")
MSG_OBJECT = _("Must be an object.")
MSG_TOO_LONG = _("Ensure this field has no more than %(max)d characters.")

# What a text may hold, in the schema's words (Python's ``\s`` is ``str.isspace``, which
# is what trimming strips): no NUL (PostgreSQL cannot store it), and for a required text
# at least one character that is not white space (it is trimmed, and blank is refused).
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"


class TextField(serializers.CharField):
    """A trimmed text whose limits hold for the text as sent: ``max_length`` counts the
    untrimmed characters (the schema's ``maxLength``), and the schema's pattern says that a
    required text is not only white space and that no text holds NUL."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pattern = NO_NUL if self.allow_blank else NOT_BLANK
        # drf-spectacular documents a RegexValidator as the field's ``pattern``.
        self.validators.append(RegexValidator(pattern))

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            raise serializers.ValidationError(MSG_TOO_LONG % {"max": self.max_length})
        return super().run_validation(data)


def _json_type_error(field: serializers.Field, value: Any) -> Any:
    """The message for a JSON value of the wrong type for ``field``, or ``None``. Nested
    lists and objects are checked item by item."""
    if value is None:
        return None  # the field's own allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else MSG_BOOLEAN
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else MSG_INTEGER
    if isinstance(field, serializers.ChoiceField):
        if all(isinstance(choice, str) for choice in field.choices):
            return None if isinstance(value, str) else MSG_STRING
        return None
    if isinstance(field, (serializers.CharField, serializers.RelatedField)):
        return None if isinstance(value, str) else MSG_STRING
    if isinstance(field, serializers.DateTimeField):
        return None if isinstance(value, str) else MSG_STRING
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return MSG_LIST
        errors = {}
        for index, item in enumerate(value):
            error = _json_type_error(field.child, item)
            if error is not None:
                errors[index] = error if isinstance(error, dict) else [error]
        return errors or None
    if isinstance(field, StrictSerializer):
        return None if isinstance(value, Mapping) else MSG_OBJECT
    return None


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error rather than silently
    ignored (``{"titel": …}`` must not file a request without a title), and, in a JSON
    body, values of another JSON type than the field's (DRF would coerce them)."""

    def to_internal_value(self, data: Any) -> Any:
        # A JSON body parses to a dict; a form (multipart) to a QueryDict of strings.
        if type(data) is dict:
            errors: dict[str, Any] = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data:
                    continue
                error = _json_type_error(field, data[name])
                if error is not None:
                    errors[name] = error if isinstance(error, dict) else [error]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        initial = self.initial_data if isinstance(self.initial_data, dict) else {}
        unknown = sorted(set(initial) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: [MSG_UNKNOWN_FIELD] for name in unknown})
        return attrs
