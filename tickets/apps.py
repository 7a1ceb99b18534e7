from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Service requests")

    def ready(self) -> None:
        from core import metrics
        from tickets import receivers  # noqa: F401  (connects them)
        from tickets.health import TicketState

        metrics.register_state(TicketState)
