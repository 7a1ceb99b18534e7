"""SlaAction's steps now live on their Events (tickets 0006), which copies them first."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("severity", "0004_alter_slaaction_ticket"),
        ("tickets", "0006_sla_step_on_event"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="slaaction",
            name="sla_action_kind_time",
        ),
        migrations.RemoveConstraint(
            model_name="slaaction",
            name="sla_action_once",
        ),
        migrations.DeleteModel(
            name="SlaAction",
        ),
    ]
