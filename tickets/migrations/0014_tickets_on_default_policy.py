"""Tickets filed before policies had versions are measured against version 1 of the
default policy: the targets they were measured against until now."""

from django.db import migrations


def forwards(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    SlaPolicy = apps.get_model("severity", "SlaPolicy")
    default = SlaPolicy.objects.filter(is_default=True).first()
    if default is not None and default.current_version_id is not None:
        Ticket.objects.filter(sla_version__isnull=True).update(
            sla_version_id=default.current_version_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0013_sla_version_follow_up_remeasure"),
        ("severity", "0008_sla_target_version_required"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
