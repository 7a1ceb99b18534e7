"""The support phone lines of the policy (seed/get-support.pl.md, POL-PHONE-1).

Technical and billing help share one number per country, as in the policy. Countries
without a number of their own fall back to the default line (country left empty). The
policy names none for them, so the default line is a number reserved for fiction
(Ofcom's drama range): it must be replaced in the admin before going live, and it
never rings a stranger in the meantime.

Idempotent: a line is matched on (country, kind, number); tests re-run ``seed``.
"""

from django.db import migrations

LINES = [
    # (country, number, label, position)
    ("US", "+18008659408", "", 0),
    ("CA", "+18008659408", "", 0),
    ("GB", "+448000326417", "", 0),
    ("AU", "+611800197503", "", 0),
    ("CN", "+864000890365", "Office 365 operated by 21Vianet", 0),
    ("", "+442079460000", "International", 0),
]
KINDS = ("technical", "billing")


def seed(apps, schema_editor):
    SupportLine = apps.get_model("helpcenter", "SupportLine")
    for country, number, label, position in LINES:
        for kind in KINDS:
            SupportLine.objects.get_or_create(
                country=country,
                kind=kind,
                number=number,
                defaults={"label": label, "position": position},
            )


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0004_article_search_index")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
