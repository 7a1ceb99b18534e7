"""Self-help routes of the portal (service health, help articles, phone lines), relative to
``/portal/<org>/``. Mounted inside the ``portal`` namespace."""

from django.urls import path  # noqa: F401

urlpatterns: list = []  # type: ignore[type-arg]
