from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo data set (``manage.py seed_demo``). The top layer: it may import every
    other app, and no app imports it."""

    name = "demo"
    verbose_name = _("Demo data")
