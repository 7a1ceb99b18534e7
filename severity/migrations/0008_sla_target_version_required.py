"""Every target belongs to a policy version (0007 gave the seeded ones version 1).

A migration of its own: PostgreSQL refuses to alter a table with the data migration's
deferred foreign-key checks still pending in the same transaction."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("severity", "0007_sla_policies")]

    operations = [
        migrations.AlterField(
            model_name="slatarget",
            name="version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="targets",
                to="severity.slapolicyversion",
                verbose_name="policy version",
            ),
        ),
    ]
