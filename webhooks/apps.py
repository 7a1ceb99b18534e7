from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # The tickets app knows nothing of webhooks: its outbox hands every Event to the
        # handlers registered here before marking it delivered, and /metrics reads the
        # failed deliveries through the collector registered here.
        from core import metrics
        from tickets import outbox
        from webhooks import services

        outbox.register_handler(services.deliveries_for_events)
        metrics.register_state(services.FailedDeliveries)
