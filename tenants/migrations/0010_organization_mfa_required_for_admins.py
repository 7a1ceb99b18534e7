from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_apikeyaddress"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="mfa_required_for_admins",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "The organization's admins must add an authenticator app or a passkey, "
                    "and use it at every sign-in, before they reach the portal."
                ),
                verbose_name="second factor required for admins",
            ),
        ),
    ]
