"""SLA steps are guarded by their Event: the step's level and lapse move onto Event under
a partial unique constraint, and the steps recorded so far are copied over before
``severity.SlaAction`` goes (severity 0005)."""

from django.db import migrations, models

# severity.SlaAction.kind → tickets.Event.kind
KINDS = {
    "warning": "warned",
    "escalation": "escalated",
    "downgrade": "downgraded",
    "reminder": "reminded",
}


def copy_steps(apps, schema_editor):  # type: ignore[no-untyped-def]
    SlaAction = apps.get_model("severity", "SlaAction")
    Event = apps.get_model("tickets", "Event")
    for step in SlaAction.objects.order_by("pk").iterator():
        # The sweep and the services write the step and its Event with the same instant.
        event = (
            Event.objects.filter(
                ticket_id=step.ticket_id,
                kind=KINDS[step.kind],
                created_at=step.acted_at,
                step_lapse_at__isnull=True,
            )
            .order_by("pk")
            .first()
        )
        if event is not None:
            event.step_level = step.level
            event.step_lapse_at = step.lapse_at
            event.save(update_fields=["step_level", "step_lapse_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_alter_ticket_created_at"),
        ("severity", "0004_alter_slaaction_ticket"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="step_level",
            field=models.PositiveSmallIntegerField(
                blank=True, null=True, verbose_name="SLA step level"
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="step_lapse_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="deadline that lapsed"),
        ),
        migrations.RunPython(copy_steps, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                condition=models.Q(("step_lapse_at__isnull", False)),
                fields=("ticket", "kind", "step_level", "step_lapse_at"),
                name="event_sla_step_once",
            ),
        ),
    ]
