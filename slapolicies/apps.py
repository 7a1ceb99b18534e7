from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaPoliciesConfig(AppConfig):
    name = "slapolicies"
    verbose_name = _("SLA policy editing")
