"""Serializer pieces every API of the project shares."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api_errors import MSG_UNKNOWN_FIELD


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error rather than silently
    ignored (``{"titel": …}`` must not file a request without a title)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        initial = self.initial_data if isinstance(self.initial_data, dict) else {}
        unknown = sorted(set(initial) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: [MSG_UNKNOWN_FIELD] for name in unknown})
        return attrs
