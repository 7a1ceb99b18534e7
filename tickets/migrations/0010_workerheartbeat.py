# The worker heartbeat moved here from the severity app (with the sweep that writes it):
# take over the existing table's state, then give the table this app's name.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0009_event_contact_changed"),
        ("severity", "0006_workerheartbeat_to_tickets"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WorkerHeartbeat",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=64, unique=True, verbose_name="name")),
                        ("last_run_at", models.DateTimeField(verbose_name="last run")),
                        (
                            "last_duration_ms",
                            models.PositiveIntegerField(default=0, verbose_name="duration (ms)"),
                        ),
                        (
                            "acted",
                            models.PositiveIntegerField(
                                default=0, verbose_name="actions in last run"
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "worker heartbeat",
                        "verbose_name_plural": "worker heartbeats",
                        "db_table": "severity_workerheartbeat",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="workerheartbeat", table=None),
    ]
