from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Staff notices")

    def ready(self) -> None:
        # The tickets app knows nothing of notices: its outbox hands every Event to the
        # handler registered here (the in-app notices), and its e-mails ask the sources
        # registered here who on staff is told and who is kept informed (CC).
        from notices import services
        from tickets import notifications, outbox

        outbox.register_handler(services.notices_for_events)
        notifications.register_staff_recipients(services.staff_mail_recipients)
        notifications.register_cc_recipients(services.cc_mail_recipients)
