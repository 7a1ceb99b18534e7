import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0008_organization_retention_days"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiKeyAddress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ip", models.GenericIPAddressField(verbose_name="address")),
                ("first_seen_at", models.DateTimeField(verbose_name="first seen")),
                (
                    "key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="addresses",
                        to="tenants.apikey",
                        verbose_name="API key",
                    ),
                ),
            ],
            options={
                "verbose_name": "API key address",
                "verbose_name_plural": "API key addresses",
                "constraints": [
                    models.UniqueConstraint(fields=("key", "ip"), name="api_key_address_unique")
                ],
            },
        ),
    ]
