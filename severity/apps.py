from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeverityConfig(AppConfig):
    name = "severity"
    verbose_name = _("Severity and SLA")
