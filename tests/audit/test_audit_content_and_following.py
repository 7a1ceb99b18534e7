"""Help-centre articles, products, phone lines and partners edited in the Django admin, and
requests followed on the desk, each leave one audit row, made through the real channel
(the test client posts what a browser would); a save that changes nothing leaves none.
The rows show on the desk's viewer; following is support's own business and never shows
on the organization's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.actions import Action, Channel
from audit.models import AuditEntry
from helpcenter.models import Article, Service, SupportLine
from tenants.models import Partner, User
from tests.admin_forms import admin_url, form_data
from tests.audit.test_audit_actions import check, only
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client: Client) -> User:
    """A superuser signed in to the Django admin."""
    user = User.objects.create_superuser("root@provider.test", "a-long-test-pw-1")
    client.force_login(user)
    return user


def saved(client: Client, url: str, data: dict[str, Any]) -> None:
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def count() -> int:
    return AuditEntry.objects.count()


# --- Articles ------------------------------------------------------------------------------


def test_an_article_created_edited_and_deleted_in_the_admin(client: Client, root: User) -> None:
    add = admin_url(Article, "add")
    data = form_data(client.get(add))
    identity = Service.objects.get(slug="identity")
    data.update({"title": "Reset your password", "slug": "reset", "language": "en",
                 "body": "Open **Settings**.", "services": [str(identity.pk)]})  # fmt: skip
    saved(client, add, data)
    article = Article.objects.get(slug="reset")
    created = only(Action.ARTICLE_CREATED)
    check(created, actor=root, organization=None, channel=Channel.ADMIN)
    assert (created.target_id, created.target_label) == (str(article.pk), "Reset your password")
    assert created.after == {"title": "Reset your password", "slug": "reset", "language": "en",
                             "services": "identity", "published": False}  # fmt: skip
    assert count() == 1

    # Title, language, services and body in one save: one row, the body only named.
    change = admin_url(Article, "change", article.pk)
    data = form_data(client.get(change))
    teams = Service.objects.get(slug="teams")
    data.update({"title": "Zresetuj hasło", "language": "pl", "body": "Otwórz **Ustawienia**.",
                 "services": [str(identity.pk), str(teams.pk)]})  # fmt: skip
    saved(client, change, data)
    changed = only(Action.ARTICLE_CHANGED)
    check(changed, actor=root, organization=None, channel=Channel.ADMIN)
    assert changed.target_label == "Zresetuj hasło"
    assert changed.before == {"title": "Reset your password", "language": "en",
                              "services": "identity"}  # fmt: skip
    assert changed.after == {"title": "Zresetuj hasło", "language": "pl",
                             "services": "identity, teams", "body": "changed"}  # fmt: skip
    assert "Ustawienia" not in str(changed.after)
    assert count() == 2

    # Saved unchanged: no row. Only published: the publication's row, no edit row.
    saved(client, change, form_data(client.get(change)))
    assert count() == 2
    data = form_data(client.get(change))
    data["is_published"] = "on"
    saved(client, change, data)
    assert count() == 3
    assert AuditEntry.objects.latest("pk").action == Action.ARTICLE_PUBLISHED

    assert client.post(admin_url(Article, "delete", article.pk), {"post": "yes"}).status_code == 302
    assert not Article.objects.exists()
    deleted = only(Action.ARTICLE_DELETED)
    check(deleted, actor=root, organization=None, channel=Channel.ADMIN)
    assert deleted.before["title"] == "Zresetuj hasło" and deleted.before["published"] is True
    assert count() == 4


def test_articles_deleted_from_the_admin_list_leave_a_row_each(client: Client, root: User) -> None:
    for slug in ("one", "two"):
        Article.objects.create(slug=slug, title=slug.title(), body="Text.")
    changelist = admin_url(Article, "changelist")
    selected = list(Article.objects.values_list("pk", flat=True))
    response = client.post(
        changelist, {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    )
    assert response.status_code == 302
    assert not Article.objects.exists()
    rows = AuditEntry.objects.filter(action=Action.ARTICLE_DELETED)
    assert sorted(row.target_label for row in rows) == ["One", "Two"]
    assert all(row.actor == root and row.channel == Channel.ADMIN for row in rows)


# --- Products, phone lines, partners ---------------------------------------------------------


def test_a_product_created_changed_and_deleted_in_the_admin(client: Client, root: User) -> None:
    add = admin_url(Service, "add")
    saved(client, add, {"name": "Power BI", "slug": "power-bi", "is_active": "on",
                        "position": "7"})  # fmt: skip
    product = Service.objects.get(slug="power-bi")
    created = only(Action.PRODUCT_CREATED)
    check(created, actor=root, organization=None, channel=Channel.ADMIN)
    assert created.target_label == "Power BI"
    assert created.after == {"name": "Power BI", "slug": "power-bi", "is_active": True,
                             "position": 7}  # fmt: skip

    change = admin_url(Service, "change", product.pk)
    saved(client, change, {"name": "Power BI", "slug": "power-bi", "position": "8"})
    changed = only(Action.PRODUCT_CHANGED)
    check(changed, actor=root, organization=None, channel=Channel.ADMIN)
    assert (changed.before, changed.after) == (
        {"is_active": True, "position": 7},
        {"is_active": False, "position": 8},
    )
    saved(client, change, {"name": "Power BI", "slug": "power-bi", "position": "8"})
    assert count() == 2  # unchanged: no row

    # The list's editable columns save through the same service.
    changelist = admin_url(Service, "changelist")
    rows = list(Service.objects.order_by("position", "name"))
    listed: dict[str, Any] = {"form-TOTAL_FORMS": str(len(rows)),
                              "form-INITIAL_FORMS": str(len(rows)), "_save": "Save"}  # fmt: skip
    for index, row in enumerate(rows):
        listed[f"form-{index}-id"] = str(row.pk)
        listed[f"form-{index}-position"] = str(row.position)
        if row.is_active:
            listed[f"form-{index}-is_active"] = "on"
    listed[f"form-{rows.index(product)}-is_active"] = "on"
    assert client.post(changelist, listed).status_code == 302
    assert count() == 3
    in_list = AuditEntry.objects.latest("pk")
    assert (in_list.action, in_list.target_id, in_list.after) == (
        Action.PRODUCT_CHANGED, str(product.pk), {"is_active": True}
    )  # fmt: skip

    assert client.post(admin_url(Service, "delete", product.pk), {"post": "yes"}).status_code == 302
    deleted = only(Action.PRODUCT_DELETED)
    check(deleted, actor=root, organization=None, channel=Channel.ADMIN)
    assert deleted.before["name"] == "Power BI"
    assert count() == 4


def test_a_support_line_created_changed_and_deleted_in_the_admin(
    client: Client, root: User
) -> None:
    add = admin_url(SupportLine, "add")
    line_data = {"country": "DE", "kind": "technical", "number": "+49 30 901820",
                 "label": "Berlin", "hours": "", "position": "0", "is_active": "on"}  # fmt: skip
    saved(client, add, line_data)
    line = SupportLine.objects.get(label="Berlin")
    created = only(Action.SUPPORT_LINE_CREATED)
    check(created, actor=root, organization=None, channel=Channel.ADMIN)
    assert created.target_label == "DE technical +4930901820"
    assert created.after["number"] == "+4930901820" and created.after["country"] == "DE"

    change = admin_url(SupportLine, "change", line.pk)
    saved(client, change, {**line_data, "label": "Berlin office", "hours": "Mon–Fri 9–17"})
    changed = only(Action.SUPPORT_LINE_CHANGED)
    check(changed, actor=root, organization=None, channel=Channel.ADMIN)
    assert (changed.before, changed.after) == (
        {"label": "Berlin", "hours": ""},
        {"label": "Berlin office", "hours": "Mon–Fri 9–17"},
    )
    saved(client, change, {**line_data, "label": "Berlin office", "hours": "Mon–Fri 9–17"})
    assert count() == 2

    url = admin_url(SupportLine, "delete", line.pk)
    assert client.post(url, {"post": "yes"}).status_code == 302
    deleted = only(Action.SUPPORT_LINE_DELETED)
    check(deleted, actor=root, organization=None, channel=Channel.ADMIN)
    assert deleted.before["label"] == "Berlin office"
    assert count() == 3


def test_a_partner_created_changed_and_deleted_in_the_admin(client: Client, root: User) -> None:
    add = admin_url(Partner, "add")
    partner_data = {"name": "Northwind", "phone": "+48 22 123 45 67",
                    "email": "help@northwind.test", "url": ""}  # fmt: skip
    saved(client, add, partner_data)
    partner = Partner.objects.get(name="Northwind")
    created = only(Action.PARTNER_CREATED)
    check(created, actor=root, organization=None, channel=Channel.ADMIN)
    assert created.target_label == "Northwind"
    assert created.after == {"name": "Northwind", "phone": "+48221234567",
                             "email": "help@northwind.test", "url": ""}  # fmt: skip

    change = admin_url(Partner, "change", partner.pk)
    saved(client, change, {**partner_data, "url": "https://northwind.test/"})
    changed = only(Action.PARTNER_CHANGED)
    check(changed, actor=root, organization=None, channel=Channel.ADMIN)
    assert (changed.before, changed.after) == ({"url": ""}, {"url": "https://northwind.test/"})
    saved(client, change, {**partner_data, "url": "https://northwind.test/"})
    assert count() == 2

    assert client.post(admin_url(Partner, "delete", partner.pk), {"post": "yes"}).status_code == 302
    deleted = only(Action.PARTNER_DELETED)
    check(deleted, actor=root, organization=None, channel=Channel.ADMIN)
    assert deleted.before["email"] == "help@northwind.test"
    assert count() == 3


def test_reference_data_rows_are_filtered_on_the_desk_and_absent_from_the_portal(
    client: Client, world: World, root: User
) -> None:
    saved(client, admin_url(Partner, "add"), {"name": "Northwind", "phone": "", "email": "",
                                              "url": ""})  # fmt: skip
    row = only(Action.PARTNER_CREATED)
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:audit"), {"action": Action.PARTNER_CREATED})
    assert response.status_code == 200
    assert [entry.pk for entry in response.context["page"].object_list] == [row.pk]
    assert "Partner created" in response.content.decode()
    client.force_login(world.admin_a.user)
    portal = reverse("portal:settings_audit", kwargs={"org": world.org_a.slug})
    assert "Northwind" not in client.get(portal).content.decode()


# --- Following a request on the desk ----------------------------------------------------------


def test_following_and_unfollowing_on_the_desk(client: Client, world: World) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    url = reverse("notices:follow", kwargs={"number": ticket.pk})
    before = count()

    assert client.post(url, {"action": "follow"}).status_code == 302
    followed = only(Action.TICKET_FOLLOWED)
    check(followed, actor=world.agent, organization=world.org_a, channel=Channel.DESK)
    assert (followed.target_type, followed.target_id) == ("tickets.ticket", str(ticket.pk))
    assert followed.target_label == ticket.reference
    assert client.post(url, {"action": "follow"}).status_code == 302  # already: no row
    assert count() == before + 1

    assert client.post(url, {"action": "unfollow"}).status_code == 302
    unfollowed = only(Action.TICKET_UNFOLLOWED)
    check(unfollowed, actor=world.agent, organization=world.org_a, channel=Channel.DESK)
    assert unfollowed.target_label == ticket.reference
    assert client.post(url, {"action": "unfollow"}).status_code == 302  # not following: no row
    assert count() == before + 2

    # A customer's admin cannot follow, and leaves no row.
    client.force_login(world.admin_a.user)
    assert client.post(url, {"action": "follow"}).status_code == 404
    assert count() == before + 2


def test_following_shows_on_the_desk_viewer_only(client: Client, world: World) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    client.post(reverse("notices:follow", kwargs={"number": ticket.pk}), {"action": "follow"})
    row = only(Action.TICKET_FOLLOWED)

    client.force_login(world.supervisor)
    desk = client.get(
        reverse("desk:audit"), {"action": Action.TICKET_FOLLOWED, "organization": world.org_a.pk}
    )
    assert [entry.pk for entry in desk.context["page"].object_list] == [row.pk]
    assert "Request followed" in desk.content.decode()

    # The organization's own viewer: support's business is not shown, nor offered as a
    # filter, nor in its CSV.
    client.force_login(world.admin_a.user)
    portal = reverse("portal:settings_audit", kwargs={"org": world.org_a.slug})
    page = client.get(portal)
    assert page.status_code == 200
    assert row.pk not in {entry.pk for entry in page.context["page"].object_list}
    assert Action.TICKET_FOLLOWED not in dict(page.context["form"].fields["action"].choices)
    assert client.get(portal, {"action": Action.TICKET_FOLLOWED}).status_code == 400
    csv_url = reverse("portal:settings_audit_csv", kwargs={"org": world.org_a.slug})
    body = b"".join(client.get(csv_url).streaming_content).decode()
    assert Action.TICKET_FOLLOWED not in body
