# Every e-mail a ticket sent, by its Message-ID (threading of later mails, matching answers).

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0010_workerheartbeat"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutgoingMail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("recipient", models.CharField(max_length=1000, verbose_name="recipient")),
                (
                    "message_id",
                    models.CharField(max_length=255, unique=True, verbose_name="Message-ID"),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="sent"),
                ),
                (
                    "event",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="tickets.event",
                        verbose_name="event",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outgoing_mails",
                        to="tickets.ticket",
                        verbose_name="service request",
                    ),
                ),
            ],
            options={
                "verbose_name": "outgoing e-mail",
                "verbose_name_plural": "outgoing e-mails",
                "ordering": ("created_at", "pk"),
                "indexes": [
                    models.Index(fields=["ticket", "created_at"], name="outgoing_mail_ticket_time")
                ],
            },
        ),
    ]
