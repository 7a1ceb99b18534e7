# The worker heartbeat moved to the tickets app with the sweep that writes it. The table
# stays; tickets.0010 takes over its state and renames it.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("severity", "0005_sla_step_on_event"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="WorkerHeartbeat")],
            database_operations=[],
        ),
    ]
