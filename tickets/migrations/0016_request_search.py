"""Search across every request (issue 16): one full-text document per ticket.

On PostgreSQL the ``tickets_ticketsearch`` rows are written by triggers, so every way a
ticket or message is written (services, mail intake, admin, bulk loads) keeps the
document current with no extra round trip, and the text search configuration
``sd_search`` folds accents (``unaccent``) when the extension can be created here,
``simple`` otherwise: English and Polish are searched word for word, no stemming.

Why a separate table written on change rather than a generated column on the ticket: the
document needs the messages and the organization's name (other tables), and the ticket
row is the sweep's hot row — a stored generated column is recomputed on each of its
UPDATEs, and a GIN index on it would make them non-HOT. Here a sweep UPDATE never names
title or description, so the triggers do not even fire. A message costs one UPDATE of
the ticket's document (its words appended, not recomputed).

SQLite gets the table only (unused: the search falls back to ``icontains``).
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import DatabaseError, migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import CursorWrapper
from django.db.migrations.state import StateApps

CONFIG = "sd_search"
QUERY_CONFIG = "sd_search_query"

# The words of a ticket's own fields: the number (000123 and 123; "SR-000123" is looked up
# directly), the title (weight A), the organization's name and the description (B).
TICKET_WORDS = """
    setweight(to_tsvector('sd_search', lpad(t.id::text, 6, '0') || ' ' || t.id::text || ' '
        || t.title), 'A')
    || setweight(to_tsvector('sd_search', coalesce(o.name, '')), 'B')
    || setweight(to_tsvector('sd_search', t.description), 'B')
"""

FORWARD = """
CREATE OR REPLACE FUNCTION tickets_search_rebuild(ticket bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tickets_ticketsearch (ticket_id, organization_id, public, internal)
    SELECT t.id, t.organization_id,
        @TICKET_WORDS@
        || setweight(to_tsvector('sd_search', coalesce((
            SELECT string_agg(m.body, ' ' ORDER BY m.created_at, m.id)
            FROM tickets_message m WHERE m.ticket_id = t.id AND m.kind = 'reply'), '')), 'C'),
        setweight(to_tsvector('sd_search', coalesce((
            SELECT string_agg(m.body, ' ' ORDER BY m.created_at, m.id)
            FROM tickets_message m WHERE m.ticket_id = t.id AND m.kind = 'note'), '')), 'D')
    FROM tickets_ticket t LEFT JOIN tenants_organization o ON o.id = t.organization_id
    WHERE t.id = ticket
    ON CONFLICT (ticket_id) DO UPDATE SET organization_id = EXCLUDED.organization_id,
        public = EXCLUDED.public, internal = EXCLUDED.internal;
END $$;

CREATE OR REPLACE FUNCTION tickets_search_ticket_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tickets_ticketsearch (ticket_id, organization_id, public, internal)
    SELECT t.id, t.organization_id, @TICKET_WORDS@, ''::tsvector
    FROM (SELECT NEW.*) t LEFT JOIN tenants_organization o ON o.id = t.organization_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tickets_search_ticket_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_rebuild(NEW.id);
    RETURN NULL;
END $$;

-- A new message appends its words: no re-read of the conversation.
CREATE OR REPLACE FUNCTION tickets_search_message_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'note' THEN
        UPDATE tickets_ticketsearch
        SET internal = internal || setweight(to_tsvector('sd_search', NEW.body), 'D')
        WHERE ticket_id = NEW.ticket_id;
    ELSE
        UPDATE tickets_ticketsearch
        SET public = public || setweight(to_tsvector('sd_search', NEW.body), 'C')
        WHERE ticket_id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END $$;

-- An edited, moved or deleted message (rare) rebuilds its ticket's document.
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

-- A renamed organization (rare, by an administrator) rebuilds its tickets' documents.
CREATE OR REPLACE FUNCTION tickets_search_organization_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_rebuild(t.id) FROM tickets_ticket t
    WHERE t.organization_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_search_ticket_inserted AFTER INSERT ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_search_ticket_inserted();
-- Django's save() names every column: the WHEN clause keeps other changes free.
CREATE TRIGGER tickets_search_ticket_changed
    AFTER UPDATE OF title, description, organization_id ON tickets_ticket
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title
        OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.organization_id IS DISTINCT FROM NEW.organization_id)
    EXECUTE FUNCTION tickets_search_ticket_changed();
CREATE TRIGGER tickets_search_message_inserted AFTER INSERT ON tickets_message
    FOR EACH ROW EXECUTE FUNCTION tickets_search_message_inserted();
CREATE TRIGGER tickets_search_message_changed
    AFTER UPDATE OF body, kind, ticket_id ON tickets_message
    FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.kind IS DISTINCT FROM NEW.kind
        OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
    EXECUTE FUNCTION tickets_search_message_changed();
CREATE TRIGGER tickets_search_message_deleted AFTER DELETE ON tickets_message
    FOR EACH ROW EXECUTE FUNCTION tickets_search_message_changed();
CREATE TRIGGER tickets_search_organization_renamed AFTER UPDATE OF name ON tenants_organization
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION tickets_search_organization_renamed();

-- The requests already filed.
SELECT tickets_search_rebuild(id) FROM tickets_ticket;

-- Staff search public words and notes together; the customer's search filters the same
-- candidates on the public words (a subset), so one index serves both.
CREATE INDEX tickets_search_words ON tickets_ticketsearch
    USING gin ((public || internal));
""".replace("@TICKET_WORDS@", TICKET_WORDS)

BACKWARD = """
DROP TRIGGER IF EXISTS tickets_search_organization_renamed ON tenants_organization;
DROP TRIGGER IF EXISTS tickets_search_message_deleted ON tickets_message;
DROP TRIGGER IF EXISTS tickets_search_message_changed ON tickets_message;
DROP TRIGGER IF EXISTS tickets_search_message_inserted ON tickets_message;
DROP TRIGGER IF EXISTS tickets_search_ticket_changed ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_search_ticket_inserted ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_search_organization_renamed();
DROP FUNCTION IF EXISTS tickets_search_message_changed();
DROP FUNCTION IF EXISTS tickets_search_message_inserted();
DROP FUNCTION IF EXISTS tickets_search_ticket_changed();
DROP FUNCTION IF EXISTS tickets_search_ticket_inserted();
DROP FUNCTION IF EXISTS tickets_search_rebuild(bigint);
DROP TEXT SEARCH CONFIGURATION IF EXISTS sd_search_query;
DROP TEXT SEARCH CONFIGURATION IF EXISTS sd_search;
"""

# unaccent's word classes: those that can hold letters outside ASCII.
ACCENTED = "word, hword, hword_part, numword, numhword, hword_numpart"


def create_configuration(cursor: CursorWrapper) -> None:
    """``sd_search``: ``simple``, with ``unaccent`` in front when the extension is there
    or can be created (it is a trusted extension; a role without CREATE on the database
    gets plain ``simple``)."""
    cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [CONFIG])
    if cursor.fetchone():
        return
    cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = simple)")
    cursor.execute("SAVEPOINT tickets_search_unaccent")
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DatabaseError:
        # No right to create it here: plain simple words, accents significant.
        cursor.execute("ROLLBACK TO SAVEPOINT tickets_search_unaccent")
        return
    cursor.execute("RELEASE SAVEPOINT tickets_search_unaccent")
    cursor.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {ACCENTED} "
        "WITH unaccent, simple"
    )


def create_query_configuration(cursor: CursorWrapper) -> None:
    """``sd_search_query``, for what people type: ``sd_search`` without the parts of a
    hyphenated word. A document holds "sign-in" and its parts; the query "sign-in" then
    asks for the whole word, not for the phrase sign-in <-> sign <-> in, which the index
    cannot answer without re-reading every candidate document."""
    cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [QUERY_CONFIG])
    if cursor.fetchone():
        return
    cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {QUERY_CONFIG} (COPY = {CONFIG})")
    cursor.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {QUERY_CONFIG} "
        "DROP MAPPING IF EXISTS FOR hword_part, hword_asciipart, hword_numpart"
    )


def forward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        create_configuration(cursor)
        create_query_configuration(cursor)
        cursor.execute(FORWARD)


def backward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_organization_sla_policy"),
        ("tickets", "0015_remeasure_touched_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketSearch",
            fields=[
                (
                    "ticket",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="tickets.ticket",
                    ),
                ),
                (
                    "public",
                    django.contrib.postgres.search.SearchVectorField(
                        default="", verbose_name="public words"
                    ),
                ),
                (
                    "internal",
                    django.contrib.postgres.search.SearchVectorField(
                        default="", verbose_name="internal notes' words"
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.organization",
                        verbose_name="organization",
                    ),
                ),
            ],
            options={
                "verbose_name": "request search document",
                "verbose_name_plural": "request search documents",
                "indexes": [
                    models.Index(fields=["organization", "ticket"], name="ticket_search_org")
                ],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
