"""GIN indexes for the help-article full-text search, on PostgreSQL only.

Each index covers the articles of one language and holds exactly the expression that
``helpcenter.search.search_vector(config)`` builds, so the planner can use it for the
``@@`` match. Other databases search by substring and get no index.
"""

from django.db import migrations

CONFIGS = {"en": "english", "pl": "simple"}


def _vector(config):
    return (
        f"(setweight(to_tsvector('{config}'::regconfig, COALESCE(\"title\", '')), 'A') || "
        f"setweight(to_tsvector('{config}'::regconfig, COALESCE(\"body\", '')), 'B'))"
    )


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for language, config in CONFIGS.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS article_fts_{language} ON helpcenter_article "
            f"USING gin ({_vector(config)}) WHERE language = '{language}'"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for language in CONFIGS:
        schema_editor.execute(f"DROP INDEX IF EXISTS article_fts_{language}")


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0003_incidents_articles_phone_lines")]
    operations = [migrations.RunPython(create_indexes, drop_indexes)]
