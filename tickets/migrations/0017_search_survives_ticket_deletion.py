"""A deleted message rebuilds its ticket's search document only while the document is
still there: when a whole ticket is deleted, Django's cascade may delete the document
before the messages, and rebuilding it then would re-insert a row for a ticket about to
go (a foreign-key violation at commit)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION tickets_search_message_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM tickets_ticketsearch WHERE ticket_id = OLD.ticket_id) THEN
            PERFORM tickets_search_rebuild(OLD.ticket_id);
        END IF;
    ELSE
        PERFORM tickets_search_rebuild(NEW.ticket_id);
        IF OLD.ticket_id <> NEW.ticket_id THEN
            PERFORM tickets_search_rebuild(OLD.ticket_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION tickets_search_message_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM tickets_search_rebuild(OLD.ticket_id);
    ELSE
        PERFORM tickets_search_rebuild(NEW.ticket_id);
        IF OLD.ticket_id <> NEW.ticket_id THEN
            PERFORM tickets_search_rebuild(OLD.ticket_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0016_request_search")]

    operations = [migrations.RunPython(forwards, backwards)]
