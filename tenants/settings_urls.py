"""Organization settings for global admins, relative to ``/portal/<org>/settings/``.
Mounted inside the ``portal`` namespace."""

from django.urls import path  # noqa: F401

urlpatterns: list = []  # type: ignore[type-arg]
