from django.db import migrations

SERVICES = [
    ("exchange-online", "Exchange Online"),
    ("sharepoint-online", "SharePoint Online"),
    ("teams", "Microsoft Teams"),
    ("m365-apps", "Microsoft 365 Apps"),
    ("identity", "Identity and single sign-on"),
    ("directory-sync", "Directory synchronisation"),
    ("admin-center", "Admin centre"),
    ("billing", "Billing and subscriptions"),
    ("other", "Other"),
]


def seed(apps, schema_editor):
    Service = apps.get_model("helpcenter", "Service")
    for position, (slug, name) in enumerate(SERVICES):
        Service.objects.update_or_create(slug=slug, defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
