"""The SLA policy editor's pages (issue 15): supervisors only; bad input shows the form
again with its errors and changes nothing; the publish flow, the organization's policy
and the calendar pages end to end through the test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from severity.models import Calendar, CalendarHoliday, SlaPolicy, SlaPolicyVersion
from slapolicies import services
from slapolicies.models import ChangeAction, PolicyChange
from tests.conftest import World
from tickets.models import RemeasureJob, RemeasureKind

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


@pytest.fixture
def supervisor(client: Client, world: World) -> Client:
    client.force_login(world.supervisor)
    return client


@pytest.fixture
def default() -> SlaPolicy:
    return SlaPolicy.objects.default()


def draft_post(version: SlaPolicyVersion, **overrides: str) -> dict[str, str]:
    """The editor's form as the page fills it, with ``overrides``."""
    data = {
        "note": "",
        "warning_percent": str(int(version.warning_share * 100)),
        "second_escalation_factor": str(version.second_escalation_factor),
        "notify_supervisors": "on" if version.notify_supervisors else "",
        "duty_emails": version.duty_emails,
    }
    for t in version.targets.all():
        prefix = f"{t.severity}_{t.category}_"
        data[prefix + "calendar"] = str(t.calendar_id)
        data[prefix + "first_response"] = str(t.first_response.total_seconds() / 3600)
        data[prefix + "update_cadence"] = (
            str(t.update_cadence.total_seconds() / 3600) if t.update_cadence else ""
        )
        data[prefix + "cooperation_window"] = str(t.cooperation_window.total_seconds() / 3600)
    data.update(overrides)
    return data


def test_agents_and_customers_are_refused(client: Client, world: World, default: SlaPolicy) -> None:
    calendar = Calendar.objects.first()
    assert calendar is not None
    urls = [
        reverse("slapolicies:policies"),
        reverse("slapolicies:policy", kwargs={"policy": default.pk}),
        reverse("slapolicies:calendars"),
        reverse("slapolicies:calendar", kwargs={"calendar": calendar.pk}),
        reverse("slapolicies:assign"),
    ]
    for user in (world.agent, world.admin_a.user):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, url
        # Posting changes nothing either.
        response = client.post(reverse("slapolicies:version_new", kwargs={"policy": default.pk}))
        assert response.status_code == 404
    assert not SlaPolicyVersion.objects.filter(published_at__isnull=True).exists()
    client.force_login(world.agent)
    desk = client.get(reverse("desk:home"))
    assert reverse("slapolicies:policies").encode() not in desk.content


def test_the_list_shows_policies_and_organizations(
    supervisor: Client, world: World, default: SlaPolicy
) -> None:
    policy = services.policy_create(
        name="Alpha premium", description="", contract="", actor=world.supervisor, now=world_now()
    )
    draft = services.version_draft(policy=policy, actor=world.supervisor, now=world_now())
    services.version_publish(
        version=draft, actor=world.supervisor, apply_to_open=False, now=world_now()
    )
    services.organization_set_policy(
        organization=world.org_a,
        policy=policy,
        actor=world.supervisor,
        apply_to_open=False,
        now=world_now(),
    )
    services.policy_create(
        name="Standard contract", description="", contract="standard", actor=world.supervisor,
        now=world_now(),
    )  # fmt: skip
    page = supervisor.get(reverse("slapolicies:policies"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Standard terms" in text and "Everyone (default)" in text
    assert "Alpha premium" in text and "Alpha Corp" in text
    # Bravo is on the standard contract without a policy of its own.
    assert "The Standard contract (1 organization without its own policy)" in text
    # The default, then the contracts', then the organizations' own.
    assert (
        text.index("Standard terms") < text.index("Standard contract") < text.index("Alpha premium")
    )
    assert 'aria-current="page">SLA policies' in text


def world_now():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.now()


def test_new_version_edit_review_and_publish(
    supervisor: Client,
    world: World,
    default: SlaPolicy,
    django_capture_on_commit_callbacks: object,
) -> None:
    ticket = world.file(now=world_now() - 2 * H)
    old_due = ticket.response_due_at
    response = supervisor.post(reverse("slapolicies:version_new", kwargs={"policy": default.pk}))
    draft = SlaPolicyVersion.objects.get(policy=default, published_at__isnull=True)
    assert response["Location"] == reverse("slapolicies:version", kwargs={"version": draft.pk})
    # Opening "New version" again goes to the same draft.
    again = supervisor.post(reverse("slapolicies:version_new", kwargs={"policy": default.pk}))
    assert again["Location"] == response["Location"]

    editor = supervisor.get(response["Location"])
    assert editor.status_code == 200
    assert b'for="id_B_technical_first_response"' in editor.content
    assert b"B/C technical 15 h" in editor.content  # the length of a business day

    saved = supervisor.post(
        response["Location"],
        draft_post(draft, B_technical_first_response="8", note="Faster B", next="review"),
    )
    review = reverse("slapolicies:review", kwargs={"version": draft.pk})
    assert saved["Location"] == review
    page = supervisor.get(review)
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 open request measured on this policy" in text
    assert "1 move earlier, 0 later, 0 unchanged" in text
    assert "was 15 h" in text

    published = supervisor.post(review, {"apply_to_open": "1"})
    job = RemeasureJob.objects.get()
    assert published["Location"] == reverse("slapolicies:job", kwargs={"job": job.pk})
    assert (job.kind, job.version_id, job.total) == (RemeasureKind.POLICY, draft.pk, 1)
    job_page = supervisor.get(published["Location"])
    assert b'hx-trigger="every 1s"' in job_page.content
    assert b"0 of 1 requests re-measured" in job_page.content
    from tickets.remeasure import remeasure_run

    remeasure_run(job.pk)
    fragment = supervisor.get(reverse("slapolicies:job_progress", kwargs={"job": job.pk}))
    assert b"1 of 1 requests re-measured (100 %)" in fragment.content
    assert b"hx-trigger" not in fragment.content  # finished: polling stops
    ticket.refresh_from_db()
    assert ticket.response_due_at < old_due  # type: ignore[operator]

    # The published version is read-only now.
    read_only = supervisor.get(reverse("slapolicies:version", kwargs={"version": draft.pk}))
    assert b"draft-form" not in read_only.content
    assert b"8 h" in read_only.content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("B_technical_first_response", "0"),
        ("B_technical_first_response", "abc"),
        ("C_billing_cooperation_window", ""),
        ("warning_percent", "100"),
        ("second_escalation_factor", "1"),
        ("duty_emails", "nobody"),
        ("A_technical_calendar", "999999"),
    ],
)
def test_bad_input_shows_the_errors_and_changes_nothing(
    supervisor: Client, world: World, default: SlaPolicy, field: str, value: str
) -> None:
    draft = services.version_draft(policy=default, actor=world.supervisor, now=world_now())
    before = services.version_snapshot(draft)
    url = reverse("slapolicies:version", kwargs={"version": draft.pk})

    response = supervisor.post(url, draft_post(draft, **{field: value}))

    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert b'aria-invalid="true"' in response.content
    draft.refresh_from_db()
    assert services.version_snapshot(draft) == before
    assert not PolicyChange.objects.filter(action=ChangeAction.DRAFT_UPDATED).exists()


def test_publish_for_new_requests_only(
    supervisor: Client, world: World, default: SlaPolicy
) -> None:
    draft = services.version_draft(policy=default, actor=world.supervisor, now=world_now())
    response = supervisor.post(
        reverse("slapolicies:review", kwargs={"version": draft.pk}), {"apply_to_open": "0"}
    )
    assert response["Location"] == reverse("slapolicies:policy", kwargs={"policy": default.pk})
    default.refresh_from_db()
    assert default.current_version_id == draft.pk
    assert not RemeasureJob.objects.exists()
    # Publishing twice is refused with a message, not an error page.
    again = supervisor.post(
        reverse("slapolicies:review", kwargs={"version": draft.pk}),
        {"apply_to_open": "1"},
        follow=True,
    )
    assert again.status_code == 200
    assert str(services.ERR_PUBLISHED).encode() in again.content
    assert not RemeasureJob.objects.exists()


def test_an_organization_policy_with_preview(
    supervisor: Client, world: World, default: SlaPolicy, django_capture_on_commit_callbacks: object
) -> None:
    world.file(now=world_now() - H)
    policy = services.policy_create(
        name="Alpha premium", description="", contract="", actor=world.supervisor, now=world_now()
    )
    draft = services.version_draft(policy=policy, actor=world.supervisor, now=world_now())
    services.draft_update(
        version=draft,
        steps=services.Steps(draft.warning_share, draft.second_escalation_factor, True, ""),
        targets=[
            services.TargetValues(
                t.severity,
                t.category,
                t.calendar,
                8 * H if (t.severity, t.category) == ("B", "technical") else t.first_response,
                t.update_cadence,
                t.cooperation_window,
            )
            for t in draft.targets.select_related("calendar")
        ],
        note="",
        actor=world.supervisor,
        now=world_now(),
    )
    services.version_publish(
        version=draft, actor=world.supervisor, apply_to_open=False, now=world_now()
    )
    url = reverse("slapolicies:assign")

    page = supervisor.get(url, {"organization": world.org_a.pk, "policy": policy.pk})
    assert page.status_code == 200
    assert b"1 open request of Alpha Corp" in page.content
    assert b"1 move earlier" in page.content
    world.org_a.refresh_from_db()
    assert world.org_a.sla_policy is None  # a preview changes nothing

    done = supervisor.post(
        url, {"organization": world.org_a.pk, "policy": policy.pk, "apply_to_open": "1"}
    )
    job = RemeasureJob.objects.get()
    assert done["Location"] == reverse("slapolicies:job", kwargs={"job": job.pk})
    assert job.kind == RemeasureKind.ORGANIZATION
    world.org_a.refresh_from_db()
    assert world.org_a.sla_policy == policy


def test_calendar_pages(supervisor: Client, world: World) -> None:
    calendar = Calendar.objects.get(name="Pre-sales")
    url = reverse("slapolicies:calendar", kwargs={"calendar": calendar.pk})
    page = supervisor.get(url)
    assert page.status_code == 200
    assert b"re-measured within a minute" in page.content
    assert supervisor.get(reverse("slapolicies:calendars")).status_code == 200

    # Overlapping windows: the page again with the reason, nothing changed.
    before = list(calendar.windows.values_list("weekday", "start", "end"))
    formset = {
        "w-TOTAL_FORMS": "2",
        "w-INITIAL_FORMS": "0",
        "w-0-weekday": "0",
        "w-0-start": "09:00",
        "w-0-end": "13:00",
        "w-1-weekday": "0",
        "w-1-start": "12:00",
        "w-1-end": "17:00",
    }
    bad = supervisor.post(reverse("slapolicies:windows", kwargs={"calendar": calendar.pk}), formset)
    assert bad.status_code == 200
    assert b"overlap" in bad.content
    assert list(calendar.windows.values_list("weekday", "start", "end")) == before
    good = supervisor.post(
        reverse("slapolicies:windows", kwargs={"calendar": calendar.pk}),
        {**formset, "w-1-start": "13:00"},
    )
    assert good.status_code == 302
    assert calendar.windows.count() == 2

    add = reverse("slapolicies:holiday_add", kwargs={"calendar": calendar.pk})
    assert supervisor.post(add, {"holiday-date": "not a date"}).status_code == 200
    assert (
        supervisor.post(add, {"holiday-date": "2031-08-18", "holiday-name": "Day"}).status_code
        == 302
    )
    holiday = CalendarHoliday.objects.get(calendar=calendar, date="2031-08-18")
    duplicate = supervisor.post(add, {"holiday-date": "2031-08-18"})
    assert duplicate.status_code == 200
    assert b"is a holiday already" in duplicate.content
    supervisor.post(
        reverse("slapolicies:holiday_remove", kwargs={"calendar": calendar.pk}),
        {"day": holiday.pk},
    )
    assert not CalendarHoliday.objects.filter(pk=holiday.pk).exists()

    ics = SimpleUploadedFile(
        "closures.ics",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        b"DTSTART;VALUE=DATE:20310819\r\nSUMMARY:Closed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        content_type="text/calendar",
    )
    imported = supervisor.post(
        reverse("slapolicies:import_ics", kwargs={"calendar": calendar.pk}),
        {"ics-file": ics, "ics-working": "0"},
    )
    assert imported.status_code == 200
    assert b"1 added" in imported.content
    bad_file = supervisor.post(
        reverse("slapolicies:import_ics", kwargs={"calendar": calendar.pk}),
        {"ics-file": SimpleUploadedFile("x.ics", b"not ical"), "ics-working": "0"},
    )
    assert bad_file.status_code == 200
    assert b"could not be read" in bad_file.content

    public = supervisor.post(
        reverse("slapolicies:import_public", kwargs={"calendar": calendar.pk}),
        {"public-country": "PL", "public-years": [str(world_now().year)]},
    )
    assert public.status_code == 200
    assert b"Imported from holidays:PL" in public.content


def test_a_published_version_is_read_only_on_the_page(
    supervisor: Client, world: World, default: SlaPolicy
) -> None:
    current = default.current_version
    assert current is not None
    url = reverse("slapolicies:version", kwargs={"version": current.pk})
    before = services.version_snapshot(current)

    response = supervisor.post(url, draft_post(current, B_technical_first_response="1"))

    assert response.status_code == 200
    assert str(services.ERR_PUBLISHED).encode() in response.content
    assert b"draft-form" not in response.content
    current.refresh_from_db()
    assert services.version_snapshot(current) == before


def test_the_organization_page_starts_empty(supervisor: Client) -> None:
    page = supervisor.get(reverse("slapolicies:assign"))
    assert page.status_code == 200
    assert not page.context["form"].errors


def test_the_windows_form_as_the_page_sends_it(supervisor: Client) -> None:
    """The page's blank rows are left out; a half-filled row is refused next to it."""
    calendar = Calendar.objects.get(name="Pre-sales")
    page = supervisor.get(reverse("slapolicies:calendar", kwargs={"calendar": calendar.pk}))
    formset = page.context["windows"]
    data = {
        "w-TOTAL_FORMS": str(formset.total_form_count()),
        "w-INITIAL_FORMS": str(formset.initial_form_count()),
    }
    for form in formset.forms:
        for name, field in form.fields.items():
            value = form.initial.get(name)
            if name == "DELETE":
                continue
            data[form.add_prefix(name)] = (
                field.widget.format_value(value) if value is not None else ""
            )
    assert data["w-5-weekday"] == data["w-5-start"] == ""  # a blank row
    url = reverse("slapolicies:windows", kwargs={"calendar": calendar.pk})
    before = list(calendar.windows.values_list("weekday", "start", "end"))

    assert supervisor.post(url, data).status_code == 302
    assert list(calendar.windows.values_list("weekday", "start", "end")) == before

    data["w-5-weekday"] = "5"  # Saturday, but no opening time
    refused = supervisor.post(url, data)
    assert refused.status_code == 200
    assert "Enter when the window opens." in refused.context["windows"].forms[5].errors["start"]
    data["w-5-start"] = "10:00"
    data["w-0-DELETE"] = "on"
    assert supervisor.post(url, data).status_code == 302
    assert calendar.windows.filter(weekday=5).exists()
    assert not calendar.windows.filter(weekday=0).exists()
