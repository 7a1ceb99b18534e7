from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("Caller verification")

    def ready(self) -> None:
        from verification import checks  # noqa: F401 (registers the system checks)
