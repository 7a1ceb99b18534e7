"""``python manage.py seed_demo``: demo tenants, people and service requests.

Idempotent: people, organizations and contacts are matched on their e-mail address,
slug or number and only written when something differs; an organization's tickets
are created only while it has none. A second run therefore changes nothing.

Tickets are written only through ``tickets.services`` (as the portal and the desk
would), with ``now`` set in the past, so every ticket has its Events and its SLA
clocks computed exactly as in production. Times are relative to the moment the
command runs: some tickets are already past their response deadline when it ends,
and one Severity A request of Contoso breaches five minutes later, for the workers
demo.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone, translation

from helpcenter.demo import seed_help_center
from helpcenter.models import Service
from severity.choices import Category, Impact, Scope
from tenants.models import (
    Contract,
    Membership,
    Organization,
    Partner,
    RegisteredEmail,
    RegisteredPhone,
    Role,
    StaffRole,
    User,
)
from tickets.actors import Actor
from tickets.models import Channel, ContactMethod, Event, Ticket
from tickets.services import (
    TicketDraft,
    ticket_agent_reply,
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_customer_reply,
    ticket_internal_note,
    ticket_rate,
    ticket_request_information,
    ticket_resolve,
)

DEMO_PASSWORD = "demo-pass-2026"

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)

# --- People -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    full_name: str
    language: str = "en"
    phone: str = ""
    staff_role: str = StaffRole.NONE
    is_staff: bool = False
    is_superuser: bool = False


STAFF: dict[str, Person] = {
    "root": Person(
        "root@supportdesk.example",
        "Site Administrator",
        staff_role=StaffRole.SUPERVISOR,
        is_staff=True,
        is_superuser=True,
    ),
    "supervisor": Person(
        "supervisor@supportdesk.example",
        "Olivia Bennett",
        staff_role=StaffRole.SUPERVISOR,
        is_staff=True,
    ),
    "agent1": Person("agent1@supportdesk.example", "Marta Kaczmarek", staff_role=StaffRole.AGENT),
    "agent2": Person("agent2@supportdesk.example", "James Porter", staff_role=StaffRole.AGENT),
}

# The supervisors' admin rights (DESIGN.md: calendars, targets, help centre, accounts).
# Tickets, messages and Events are view-only in the admin whatever the permission.
SUPERVISORS_GROUP = "Supervisors"
SUPERVISOR_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "severity": ("view", "add", "change", "delete"),
    "helpcenter": ("view", "add", "change", "delete"),
    "verification": ("view", "add", "change", "delete"),
    "tenants": ("view", "add", "change"),
    "tickets": ("view",),
}
# Within tenants, removing a member or a registered contact is routine; deleting a
# person or an organization is not.
SUPERVISOR_EXTRA_PERMISSIONS = (
    "delete_membership",
    "delete_registeredphone",
    "delete_registeredemail",
)


@dataclass(frozen=True, slots=True)
class Contact:
    value: str
    label: str
    # Past its 48-hour cool-off, so a PIN can be sent to it now (POLICY.md PIN defaults).
    usable: bool


@dataclass(frozen=True, slots=True)
class Tenant:
    slug: str
    name: str
    contract: str
    country: str
    time_zone: str
    partner: bool
    phones: tuple[Contact, ...]
    emails: tuple[Contact, ...]
    # Role key → the member; the keys are the ones DemoTicket.filer uses.
    members: dict[str, tuple[Person, str]]


PARTNER = {
    "name": "Northwind Partners",
    "phone": "+48 22 123 45 67",
    "email": "help@northwind.example",
    "url": "https://northwind.example",
}

CONTOSO = Tenant(
    slug="contoso",
    name="Contoso Ltd.",
    contract=Contract.ADVANCED,
    country="PL",
    time_zone="Europe/Warsaw",
    partner=False,
    phones=(
        Contact("+48 601 234 567", "IT on-call mobile", usable=True),
        Contact("+48 22 555 01 23", "Head office", usable=False),
    ),
    emails=(
        Contact("it@contoso.example", "IT department", usable=True),
        Contact("security@contoso.example", "Security team", usable=False),
    ),
    members={
        "admin": (
            Person("admin@contoso.example", "Katarzyna Nowak", "pl", "+48 601 234 567"),
            Role.GLOBAL_ADMIN,
        ),
        "billing": (
            Person("billing@contoso.example", "Piotr Wiśniewski", phone="+48 22 555 01 23"),
            Role.BILLING_ADMIN,
        ),
        "support": (
            Person("support-admin@contoso.example", "Anna Kowalczyk", phone="+48 512 345 678"),
            Role.SERVICE_SUPPORT_ADMIN,
        ),
        "user": (Person("user@contoso.example", "Jan Zieliński"), Role.USER),
    },
)

FABRIKAM = Tenant(
    slug="fabrikam",
    name="Fabrikam Inc.",
    contract=Contract.STANDARD,
    country="US",
    time_zone="America/New_York",
    partner=True,
    phones=(Contact("+1 212 555 0100", "IT help line", usable=True),),
    emails=(Contact("it@fabrikam.example", "IT department", usable=True),),
    members={
        "admin": (
            Person("admin@fabrikam.example", "Emily Carter", phone="+1 212 555 0100"),
            Role.GLOBAL_ADMIN,
        ),
        "billing": (
            Person("billing@fabrikam.example", "Michael Brooks", phone="+1 212 555 0142"),
            Role.BILLING_ADMIN,
        ),
        "support": (
            Person("support-admin@fabrikam.example", "Sarah Nguyen", phone="+1 646 555 0187"),
            Role.SERVICE_SUPPORT_ADMIN,
        ),
        "user": (Person("user@fabrikam.example", "David Miller"), Role.USER),
    },
)

TENANTS = (CONTOSO, FABRIKAM)

# --- Tickets ------------------------------------------------------------------------------

CUSTOMER = "customer"  # Step.by: the member who filed (or phoned in) the request


@dataclass(frozen=True, slots=True)
class Step:
    after: timedelta  # since the request was filed
    action: str  # claim | assign | reply | ask | answer | note | resolve | rate | close
    by: str  # a STAFF key, or CUSTOMER
    text: str = ""
    to: str = ""  # assign: the STAFF key of the assignee
    score: int = 0  # rate: the customer's 1–5 satisfaction (POL-ROLE-2)


def claim(after: timedelta, agent: str) -> Step:
    return Step(after, "claim", agent)


def assign(after: timedelta, to: str) -> Step:
    return Step(after, "assign", "supervisor", to=to)


def reply(after: timedelta, agent: str, text: str) -> Step:
    return Step(after, "reply", agent, text)


def ask(after: timedelta, agent: str, text: str) -> Step:
    return Step(after, "ask", agent, text)


def answer(after: timedelta, text: str) -> Step:
    return Step(after, "answer", CUSTOMER, text)


def note(after: timedelta, agent: str, text: str) -> Step:
    return Step(after, "note", agent, text)


def resolve(after: timedelta, by: str, text: str) -> Step:
    return Step(after, "resolve", by, text)


def close(after: timedelta, by: str) -> Step:
    return Step(after, "close", by)


def rate(after: timedelta, score: int, text: str = "") -> Step:
    return Step(after, "rate", CUSTOMER, text, score=score)


@dataclass(frozen=True, slots=True)
class DemoTicket:
    ago: timedelta  # filed this long before the command runs
    filer: str  # Tenant.members key; technical: admin/support, billing: admin/billing
    category: str
    product: str  # helpcenter.Service slug
    impact: str
    scope: str
    title: str
    description: str
    business_impact: str = ""
    contact_24x7: str = ""
    preferred_contact: str = ContactMethod.EMAIL
    # A phone request is typed in by the agent who took the call (STAFF key).
    phoned_to: str = ""
    steps: tuple[Step, ...] = ()


TECH, BILLING, PRESALES = Category.TECHNICAL, Category.BILLING, Category.PRESALES
DOWN, DEGRADED, MINIMAL = Impact.SERVICE_DOWN, Impact.DEGRADED, Impact.MINIMAL
MANY, ONE = Scope.MANY, Scope.ONE

CONTOSO_TICKETS = (
    DemoTicket(
        9 * D + 22 * H,
        "support",
        TECH,
        "exchange-online",
        DEGRADED,
        MANY,
        "Mailbox migration batch from Exchange 2016 stalls at 95%",
        "We are moving 180 mailboxes from our on-premises Exchange 2016 server to Exchange "
        "Online with a remote move migration batch. The batch 'Wave-3' has been stuck at 95% "
        "(Syncing) for two days for 14 mailboxes; the others completed. We already restarted "
        "the batch and checked the MRS proxy endpoint.",
        steps=(
            claim(25 * M, "agent1"),
            reply(
                1 * H,
                "agent1",
                "Thank you, Anna. I am looking at the batch now. A move that stops at 95% "
                "usually cannot finish its final incremental sync.",
            ),
            ask(
                1 * H + 10 * M,
                "agent1",
                "Could you run Get-MigrationUserStatistics -Identity <user> -IncludeReport | fl "
                "for two of the stalled mailboxes and attach the output?",
            ),
            answer(
                20 * H,
                "Attached the reports for two users. Both show TooManyBadItemsPermanentException.",
            ),
            note(
                21 * H,
                "agent1",
                "Bad item limit reached on corrupted calendar items; raising the limit is safe "
                "here, the customer accepts losing them.",
            ),
            reply(
                22 * H,
                "agent1",
                "The moves hit the bad item limit. Please run Set-MigrationBatch Wave-3 "
                "-BadItemLimit 50 -AcceptLargeDataLoss and resume the batch.",
            ),
            answer(1 * D + 20 * H, "Done: all 14 mailboxes completed. Thank you!"),
            resolve(1 * D + 21 * H, "agent1", "Batch completed after raising the bad item limit."),
            rate(2 * D, 5, "Clear instructions, fixed the same day."),
            close(4 * D, "agent1"),
        ),
    ),
    DemoTicket(
        9 * D + 10 * H,
        "admin",
        TECH,
        "m365-apps",
        MINIMAL,
        ONE,
        "Kontakty z Outlooka nie synchronizują się z telefonem",
        "Kontakty dodane w Outlooku na komputerze jednej z handlowczyń nie pojawiają się w "
        "aplikacji Outlook na jej telefonie. Poczta i kalendarz synchronizują się poprawnie.",
        steps=(
            reply(
                1 * D,
                "agent1",
                "Dzień dobry, w aplikacji Outlook na telefonie proszę włączyć Ustawienia > "
                "konto > Zapisz kontakty. Kontakty pojawią się po kilku minutach.",
            ),
            answer(1 * D + 4 * H, "Działa, dziękuję."),
            resolve(1 * D + 5 * H, "agent1", "Contact saving was off in Outlook mobile."),
            close(3 * D, "agent1"),
        ),
    ),
    DemoTicket(
        9 * D + 5 * H,
        "support",
        TECH,
        "sharepoint-online",
        DEGRADED,
        ONE,
        "External users cannot open the shared 'Suppliers' SharePoint site",
        "Since Monday, guests invited to the Suppliers site get 'Access denied' after signing "
        "in. Internal users are fine. The site's sharing setting says 'New and existing "
        "guests'.",
        steps=(
            claim(3 * H, "agent2"),
            reply(
                3 * H + 15 * M,
                "agent2",
                "A site can never share more widely than the organization allows. Please check "
                "SharePoint admin centre > Policies > Sharing: it must allow 'New and existing "
                "guests' too, and the guests' domain must not be blocked.",
            ),
            answer(
                6 * H,
                "The organization setting was 'Existing guests only'. Changed it, and the "
                "guests can open the site now.",
            ),
            resolve(
                6 * H + 30 * M,
                "agent2",
                "Organization-level external sharing was more restrictive than the site.",
            ),
            close(2 * D, "agent2"),
        ),
    ),
    DemoTicket(
        8 * D + 20 * H,
        "billing",
        BILLING,
        "billing",
        MINIMAL,
        ONE,
        "Invoice question: 10 extra Microsoft 365 E3 licences charged in March",
        "Our March invoice charges 10 more E3 licences than we had assigned at the start of "
        "the month. Were they prorated from the day we added them, or billed for the whole "
        "month?",
        steps=(
            reply(
                1 * D,
                "agent1",
                "The 10 licences were added on 14 March and are prorated for 18 of 31 days; "
                "the invoice line 'E3 (prorated)' shows that amount.",
            ),
            answer(1 * D + 3 * H, "Clear, thank you."),
            resolve(1 * D + 4 * H, "agent1", "Proration explained."),
            close(3 * D, "agent1"),
        ),
    ),
    DemoTicket(
        7 * D + 3 * H,
        "support",
        TECH,
        "teams",
        DOWN,
        MANY,
        "Teams meetings fail to start for the whole sales department",
        "Since 07:30 every Teams meeting started by a sales user ends with 'We couldn't "
        "connect you' after 20 seconds. Chat works, and other departments are fine. The sales "
        "users have the 'Sales-EU' meeting policy.",
        business_impact="The sales department (120 people) cannot hold customer calls; we "
        "are losing bookings today.",
        contact_24x7="Anna Kowalczyk, on call, +48 512 345 678",
        preferred_contact=ContactMethod.PHONE,
        phoned_to="agent2",
        steps=(
            assign(5 * M, "agent2"),
            reply(
                12 * M,
                "agent2",
                "I'm on it. Please leave the meeting policies as they are while I look.",
            ),
            note(
                40 * M,
                "agent2",
                "Audit log: a script changed the Sales-EU policy at 07:20 (IP audio disabled).",
            ),
            reply(
                55 * M,
                "agent2",
                "The audit log shows a script changed the Sales-EU meeting policy at 07:20 and "
                "disabled audio. Please run Set-CsTeamsMeetingPolicy -Identity Sales-EU "
                "-IPAudioMode EnabledOutgoingIncoming.",
            ),
            answer(1 * H + 20 * M, "Done; meetings work again for the users we tried."),
            reply(
                1 * H + 50 * M,
                "agent2",
                "Good news. A policy can take up to an hour to reach every client; I'll keep "
                "watching until everyone is back.",
            ),
            resolve(2 * H + 40 * M, "agent2", "Meeting policy restored; confirmed by Anna."),
            rate(3 * H, 4),
        ),
    ),
    DemoTicket(
        6 * D,
        "admin",
        TECH,
        "identity",
        DOWN,
        ONE,
        "Logowanie jednokrotne (SSO) przez ADFS nie działa po odnowieniu certyfikatu",
        "Po wczorajszym odnowieniu certyfikatu podpisywania tokenów w ADFS użytkownik testowy "
        "nie może się zalogować do Microsoft 365 (błąd AADSTS50008). Pozostali mają jeszcze "
        "ważne sesje, ale boimy się, że jutro rano nikt się nie zaloguje.",
        steps=(
            claim(2 * H, "agent1"),
            reply(
                2 * H + 10 * M,
                "agent1",
                "Dzień dobry, AADSTS50008 oznacza, że Entra ID nie zna jeszcze nowego "
                "certyfikatu. Proszę zaktualizować konfigurację federacji domeny "
                "(Update-MgDomainFederationConfiguration) nowym certyfikatem.",
            ),
            answer(5 * H, "Zaktualizowaliśmy federację i logowanie działa."),
            resolve(
                5 * H + 20 * M,
                "agent1",
                "Federation updated with the new token-signing certificate.",
            ),
        ),
    ),
    DemoTicket(
        5 * D + 4 * H,
        "billing",
        PRESALES,
        "other",
        MINIMAL,
        MANY,
        "Plan comparison: Microsoft 365 Business Premium or E5 for 250 seats?",
        "We have 250 users today and expect more than 300 next year. Which plan fits, and what "
        "happens with Business Premium above its 300-seat limit? We need Defender for "
        "Office 365 and Intune.",
        steps=(
            reply(
                1 * D,
                "agent2",
                "Business Premium is limited to 300 seats per organization, so with growth "
                "above 300 we suggest Microsoft 365 E3 with Defender for Office 365 Plan 1, or "
                "E5 if you also need Defender for Endpoint Plan 2. Both include Intune.",
            ),
            answer(1 * D + 2 * H, "Thank you, we will go with E3 and the add-on."),
            resolve(1 * D + 3 * H, "agent2", "Plan comparison answered."),
        ),
    ),
    DemoTicket(
        8 * D,
        "support",
        TECH,
        "directory-sync",
        MINIMAL,
        MANY,
        "Directory synchronisation skips users in the 'Contractors' OU",
        "Entra Connect Sync does not create cloud accounts for the 23 users in "
        "OU=Contractors. The OU is selected in the connector's OU filtering and the "
        "Synchronization Service Manager shows no errors.",
        steps=(
            claim(1 * D, "agent2"),
            ask(
                1 * D + 10 * M,
                "agent2",
                "Could you export the connector space object of one contractor (csexport) and "
                "check whether their UPN suffix is a verified domain?",
            ),
        ),
    ),
    DemoTicket(
        4 * D + 3 * H,
        "support",
        TECH,
        "admin-center",
        DEGRADED,
        ONE,
        "Mail forwarding fails in the admin centre but works in PowerShell",
        "Setting forwarding for the mailbox of a colleague on leave fails in the admin centre "
        "with 'An unexpected error occurred'. Set-Mailbox -ForwardingSmtpAddress works.",
    ),
    DemoTicket(
        3 * D,
        "admin",
        TECH,
        "identity",
        MINIMAL,
        ONE,
        "Jak ustawić hasło, które nigdy nie wygasa, dla kont serwisowych?",
        "Mamy trzy konta serwisowe do skanerów. Jak ustawić, żeby ich hasła nigdy nie "
        "wygasały, bez zmiany zasad dla pozostałych użytkowników?",
        steps=(
            reply(
                1 * D,
                "agent1",
                "Dzień dobry, dla pojedynczych kont można to ustawić w PowerShell: "
                "Update-MgUser -UserId <konto> -PasswordPolicies DisablePasswordExpiration. "
                "Zasady pozostałych użytkowników się nie zmienią.",
            ),
        ),
    ),
    DemoTicket(
        2 * D + 8 * H,
        "support",
        TECH,
        "exchange-online",
        DEGRADED,
        ONE,
        "Autodiscover points Outlook for Mac to the old on-premises server",
        "After the migration, Outlook for Mac on six MacBooks still finds mail.contoso.local "
        "through Autodiscover and cannot set up the profile. Windows clients are fine.",
        steps=(
            claim(3 * H, "agent2"),
            ask(
                3 * H + 10 * M,
                "agent2",
                "Please run the Remote Connectivity Analyzer's Outlook Autodiscover test for "
                "one affected user and send the result.",
            ),
            answer(
                1 * D,
                "Result attached: the autodiscover CNAME still points to mail.contoso.local.",
            ),
            note(
                1 * D + 1 * H,
                "agent2",
                "The CNAME must point to autodiscover.outlook.com; writing the steps.",
            ),
        ),
    ),
    DemoTicket(
        2 * D,
        "billing",
        BILLING,
        "billing",
        DEGRADED,
        ONE,
        "Adding 25 Microsoft 365 E3 licences fails",
        "When we buy 25 more E3 licences in the admin centre, the purchase fails with 'We "
        "couldn't process your order'. We pay by invoice.",
        steps=(
            ask(
                5 * H,
                "agent1",
                "Orders on invoice above 20 licences need the purchase order number of your "
                "billing profile. Could you send it, with the subscription ID shown under "
                "Billing > Your products?",
            ),
        ),
    ),
    DemoTicket(
        1 * D + 10 * H,
        "support",
        TECH,
        "exchange-online",
        DEGRADED,
        ONE,
        "Send As permission on the shared mailbox 'invoices' is not applied",
        "Two days ago we granted Send As on invoices@contoso.example to four accountants. "
        "Outlook still says 'You do not have the permission to send the message on behalf of "
        "the specified user'. Full Access works.",
        steps=(
            claim(4 * H, "agent1"),
            ask(
                4 * H + 5 * M,
                "agent1",
                "Do the accountants send from Outlook for Windows (which version) or from "
                "Outlook on the web? The time of one failed attempt would let me trace it.",
            ),
        ),
    ),
    DemoTicket(
        1 * D + 6 * H,
        "billing",
        PRESALES,
        "other",
        MINIMAL,
        ONE,
        "Do you have a partner in Poland for a tenant-to-tenant migration?",
        "We are acquiring a company that also uses Microsoft 365 (about 60 users). Can you "
        "recommend a partner in Poland for a tenant-to-tenant migration, and is there a "
        "FastTrack offer for it?",
    ),
    DemoTicket(
        20 * H,
        "admin",
        TECH,
        "m365-apps",
        MINIMAL,
        ONE,
        "Użytkownik nie może usunąć danych kontaktowych",
        "Jedna z księgowych nie może usunąć starego numeru telefonu ze swojej wizytówki w "
        "Outlooku: pole jest wyszarzone. Może poprosić nas o zmianę, więc nie jest to pilne.",
    ),
    DemoTicket(
        10 * H,
        "support",
        TECH,
        "m365-apps",
        DEGRADED,
        ONE,
        "Microsoft 365 Apps installation fails with error 30015-11",
        "Installing Microsoft 365 Apps from the portal on new Windows 11 laptops stops at 10% "
        "with error 30015-11. We tried two networks and the Support and Recovery Assistant.",
        steps=(
            claim(2 * H, "agent1"),
            note(
                2 * H + 5 * M,
                "agent1",
                "Probably the endpoint protection policy blocking Click-to-Run; asked our "
                "security team for the known exclusions.",
            ),
        ),
    ),
    DemoTicket(
        6 * H,
        "admin",
        TECH,
        "sharepoint-online",
        DOWN,
        MANY,
        "Intranet na SharePoint niedostępny (HTTP 503) dla wszystkich",
        "Od 6:00 strona główna intranetu i wszystkie witryny działów zwracają błąd 503. "
        "OneDrive działa. Dotyczy wszystkich pracowników, w biurze i zdalnie.",
        business_impact="Procedury produkcyjne i formularze zamówień są tylko w intranecie; "
        "linia produkcyjna pracuje na papierowych kopiach.",
        contact_24x7="Katarzyna Nowak, +48 601 234 567",
        preferred_contact=ContactMethod.PHONE,
        steps=(
            claim(10 * M, "agent1"),
            reply(
                20 * M,
                "agent1",
                "Dzień dobry, sprawdzamy. Czy błąd występuje też dla adresu "
                "contoso.sharepoint.com/_layouts/15/viewlsts.aspx?",
            ),
            answer(1 * H + 15 * M, "Tak, też 503."),
            reply(
                2 * H,
                "agent1",
                "Widzimy problem z farmą obsługującą Państwa dzierżawę; zespół inżynierów "
                "przenosi ruch. Kolejna informacja w ciągu godziny.",
            ),
            reply(
                3 * H + 50 * M,
                "agent1",
                "Przeniesienie ruchu trwa; część witryn działów już odpowiada.",
            ),
        ),
    ),
    DemoTicket(
        4 * H,
        "support",
        TECH,
        "teams",
        DOWN,
        MANY,
        "No user can send instant messages in Teams",
        "Since about 20:00 yesterday chat messages in Teams stay on 'Sending' and then fail, "
        "for every user we checked (desktop, web and mobile). Meetings and calls work.",
        business_impact="Our service desk and field engineers coordinate through Teams chat; "
        "all 400 employees are affected.",
        contact_24x7="Anna Kowalczyk, on call, +48 512 345 678",
        steps=(
            claim(8 * M, "agent2"),
            reply(15 * M, "agent2", "We are investigating with the Teams messaging team."),
            reply(
                1 * H + 10 * M,
                "agent2",
                "Update: the messaging service shows elevated errors for your tenant; "
                "engineering is engaged.",
            ),
            note(1 * H + 30 * M, "agent2", "Linked to the service incident in the EU region."),
            reply(2 * H + 15 * M, "agent2", "Update: a mitigation is rolling out."),
            reply(
                3 * H + 20 * M,
                "agent2",
                "Update: the fix reached about 60% of your users; please tell us if anyone "
                "who could send before cannot any more.",
            ),
        ),
    ),
    DemoTicket(
        3 * H,
        "billing",
        BILLING,
        "billing",
        DEGRADED,
        ONE,
        "Trial to paid conversion for Microsoft 365 E3 (trial ends in 3 days)",
        "Our 30-day E3 trial for 25 users ends on Monday. We want to convert it to a paid "
        "annual subscription without losing data, but the 'Buy' button does not offer to keep "
        "the trial users' licences.",
    ),
    # Severity A, still new: it breaches about five minutes after the seed runs, so the
    # workers demo escalates it live.
    DemoTicket(
        55 * M,
        "support",
        TECH,
        "exchange-online",
        DOWN,
        MANY,
        "Nobody can send or receive e-mail",
        "Since 25 minutes ago nobody in the company can send or receive e-mail: Outlook shows "
        "'Disconnected', sending from Outlook on the web fails with 'Something went wrong', "
        "and partners' mail bounces with 451 4.7.500.",
        business_impact="All 400 employees are without e-mail, and customer orders arriving "
        "by e-mail are not processed.",
        contact_24x7="IT on call: Anna Kowalczyk, +48 512 345 678",
        preferred_contact=ContactMethod.PHONE,
    ),
)

FABRIKAM_TICKETS = (
    DemoTicket(
        9 * D + 18 * H,
        "admin",
        TECH,
        "exchange-online",
        DEGRADED,
        MANY,
        "Calendar items missing after migration from Google Workspace",
        "We migrated 85 mailboxes from Google Workspace with a migration batch in the Exchange "
        "admin center. Mail arrived, but recurring meetings created before 2024 are missing "
        "for about a third of the users.",
        steps=(
            claim(2 * H, "agent2"),
            ask(
                2 * H + 20 * M,
                "agent2",
                "Could you send the migration report of two affected users "
                "(Get-MigrationUserStatistics -IncludeReport)?",
            ),
            answer(1 * D, "Attached both reports."),
            reply(
                1 * D + 2 * H,
                "agent2",
                "The reports show those series had more than 1,000 exceptions and were "
                "skipped. They need to be recreated in Outlook.",
            ),
            answer(2 * D, "We recreated them; everything is in place now."),
            resolve(2 * D + 1 * H, "agent2", "Oversized recurring series recreated."),
            close(5 * D, "agent2"),
        ),
    ),
    DemoTicket(
        9 * D + 2 * H,
        "billing",
        BILLING,
        "billing",
        DEGRADED,
        ONE,
        "Invoice still charges licences we removed last month",
        "We reduced Microsoft 365 Business Standard from 60 to 45 licences on 2 October, but "
        "the November invoice still charges 60.",
        steps=(
            reply(
                4 * H,
                "agent1",
                "On an annual commitment a reduction takes effect at renewal, unless it is "
                "made within 7 days of purchase or renewal. Your renewal is 1 January; from "
                "then on you will be charged for 45.",
            ),
            answer(6 * H, "Understood, thank you."),
            resolve(6 * H + 30 * M, "agent1", "Annual commitment explained."),
            close(3 * D, "agent1"),
        ),
    ),
    DemoTicket(
        8 * D,
        "billing",
        PRESALES,
        "other",
        MINIMAL,
        ONE,
        "Plan comparison: Business Standard vs Business Premium",
        "What do we gain by moving 45 users from Business Standard to Business Premium? We "
        "are mainly interested in device management and Conditional Access.",
        steps=(
            reply(
                1 * D,
                "agent2",
                "Business Premium adds Intune (device management), Entra ID P1 (Conditional "
                "Access) and Defender for Business. Your partner Northwind can also quote it.",
            ),
            resolve(1 * D + 5 * H, CUSTOMER, "Thanks, that answers it."),
            close(3 * D, "agent2"),
        ),
    ),
    DemoTicket(
        7 * D,
        "support",
        TECH,
        "m365-apps",
        MINIMAL,
        MANY,
        "Install Office apps offline for 40 laptops",
        "Our factory site has very little bandwidth. How do we install Microsoft 365 Apps on "
        "40 laptops from a local file share?",
        steps=(
            reply(
                1 * D,
                "agent2",
                "Use the Office Deployment Tool: download once with setup.exe /download to the "
                "share, then install with setup.exe /configure and SourcePath set to the share.",
            ),
            answer(1 * D + 5 * H, "Worked perfectly."),
            resolve(1 * D + 6 * H, "agent2", "Offline installation with the ODT."),
            close(4 * D, "agent2"),
        ),
    ),
    DemoTicket(
        6 * D + 5 * H,
        "support",
        TECH,
        "sharepoint-online",
        DEGRADED,
        ONE,
        "Members group cannot edit documents in the 'Projects' site",
        "Members of the 'Projects Members' group only have read access to documents since we "
        "broke permission inheritance on the 'Contracts' library.",
        steps=(
            claim(5 * H, "agent1"),
            reply(
                5 * H + 30 * M,
                "agent1",
                "Breaking inheritance copies the permissions of that moment. Grant Edit to "
                "Projects Members on the library, or restore inheritance.",
            ),
            answer(1 * D, "We restored inheritance; editing works."),
            resolve(1 * D + 1 * H, "agent1", "Library permissions restored."),
        ),
    ),
    DemoTicket(
        5 * D,
        "support",
        TECH,
        "directory-sync",
        MINIMAL,
        ONE,
        "Directory sync error 'InvalidSoftMatch' for three users",
        "Entra Connect reports InvalidSoftMatch for three users after we recreated their "
        "on-premises accounts. Their cloud mailboxes must stay.",
        steps=(
            reply(
                1 * D,
                "agent2",
                "The cloud accounts still carry the old immutable ID. Clear "
                "onPremisesImmutableId on them, then run a delta sync.",
            ),
            answer(1 * D + 6 * H, "Fixed, thank you."),
            resolve(1 * D + 7 * H, "agent2", "Immutable ID cleared; soft match worked."),
        ),
    ),
    DemoTicket(
        4 * D + 2 * H,
        "billing",
        BILLING,
        "billing",
        MINIMAL,
        ONE,
        "Cancel the unused Project Plan 3 subscription",
        "We no longer use Project Plan 3 (5 licences). How do we cancel it, and is the rest "
        "of the term refunded?",
        steps=(
            reply(
                7 * H,
                "agent1",
                "Turn off recurring billing under Billing > Your products; the subscription "
                "then ends at the end of its term. Cancelling within 7 days of renewal gives "
                "a prorated refund.",
            ),
            resolve(1 * D, "agent1", "Cancellation steps given."),
        ),
    ),
    DemoTicket(
        3 * D + 6 * H,
        "support",
        TECH,
        "exchange-online",
        DEGRADED,
        MANY,
        "Autodiscover fails for our new domain fabrikam.us",
        "We added fabrikam.us as an accepted domain. Outlook cannot set up profiles for "
        "@fabrikam.us addresses because Autodiscover fails. We added the DNS records shown "
        "in the admin center.",
    ),
    DemoTicket(
        3 * D + 4 * H,
        "support",
        TECH,
        "exchange-online",
        DEGRADED,
        ONE,
        "Forwarding to external addresses is blocked for one mailbox",
        "A sales manager's rule that forwards to his phone's external address stopped "
        "working; the bounce says '550 5.7.520 Access denied, Your organization does not "
        "allow external forwarding'.",
        steps=(
            ask(
                5 * H,
                "agent2",
                "This is the automatic forwarding control of the outbound spam policy. Should "
                "forwarding be allowed for this user only? Please confirm in writing.",
            ),
            answer(1 * D, "Yes, only for him please; approved by our CISO."),
            note(1 * D + 1 * H, "agent2", "Preparing a custom outbound policy for one user."),
        ),
    ),
    DemoTicket(
        3 * D,
        "admin",
        TECH,
        "admin-center",
        DEGRADED,
        ONE,
        "Button labels garbled in the admin center's user list",
        "On the Active users page the 'Add a user' and 'Reset password' buttons show "
        "placeholder text such as '{{addUser}}' in Edge. Chrome is fine.",
        steps=(
            reply(
                4 * H,
                "agent1",
                "This comes from scripts cached before an update: please clear the site data "
                "for admin.microsoft.com in Edge and sign in again.",
            ),
            answer(5 * H, "That fixed it."),
            resolve(5 * H + 10 * M, "agent1", "Stale cached scripts."),
        ),
    ),
    DemoTicket(
        2 * D + 10 * H,
        "admin",
        TECH,
        "identity",
        DEGRADED,
        MANY,
        "SSO with Okta: users are prompted to sign in twice",
        "Since we federated fabrikam.example with Okta, users opening Outlook see the Okta "
        "page and then a second Microsoft sign-in prompt.",
        steps=(
            ask(
                6 * H,
                "agent1",
                "Please send a browser trace (HAR) of one double sign-in and the output of "
                "Get-MgDomainFederationConfiguration -DomainId fabrikam.example.",
            ),
        ),
    ),
    # Asks for A, but Fabrikam has the standard agreement: filed as B (POL-SEV-5).
    DemoTicket(
        2 * D + 3 * H,
        "admin",
        TECH,
        "exchange-online",
        DOWN,
        MANY,
        "E-mail down for the whole company",
        "Nobody at Fabrikam has received external e-mail since 06:40 Eastern. Senders get "
        "'550 5.4.1 Recipient address rejected: Access denied'. Internal mail works.",
        business_impact="Sales and customer service run on e-mail; we are missing customer orders.",
        contact_24x7="Emily Carter, +1 212 555 0100",
        preferred_contact=ContactMethod.PHONE,
        steps=(
            claim(10 * M, "agent1"),
            reply(
                25 * M,
                "agent1",
                "I'm looking at it now. 550 5.4.1 usually means Directory-Based Edge Blocking "
                "rejects the recipients: is the accepted domain still Authoritative?",
            ),
            note(
                40 * M,
                "agent1",
                "Standard agreement, so B (POL-SEV-5), but the whole company is down: "
                "treating it as urgent.",
            ),
            answer(
                1 * H + 10 * M,
                "Someone switched the accepted domain to Internal Relay yesterday. We switched "
                "it back and mail is flowing again.",
            ),
        ),
    ),
    DemoTicket(
        2 * D,
        "billing",
        BILLING,
        "billing",
        MINIMAL,
        ONE,
        "Renewal quote for 120 Business Premium seats",
        "Our annual Business Premium subscription renews on 1 January. We need a quote for "
        "120 seats, and would like to know whether monthly billing on an annual commitment "
        "is possible.",
        steps=(
            reply(
                1 * D,
                "agent1",
                "Monthly billing on an annual commitment is available; Northwind Partners will "
                "send the quote for 120 seats this week.",
            ),
        ),
    ),
    DemoTicket(
        1 * D + 20 * H,
        "support",
        TECH,
        "teams",
        DEGRADED,
        MANY,
        "Teams client installation fails on our Windows Server 2022 RDS hosts",
        "The new Teams client does not install for users on our two Remote Desktop Session "
        "Hosts: the MSIX package fails with 0x80073CF3.",
        steps=(
            claim(3 * H, "agent2"),
            ask(
                3 * H + 10 * M,
                "agent2",
                "Did you install with teamsbootstrapper.exe -p and the offline MSIX? Please "
                "send the AppXDeploymentServer/Operational event log of one host.",
            ),
        ),
    ),
    DemoTicket(
        1 * D + 8 * H,
        "billing",
        PRESALES,
        "other",
        MINIMAL,
        ONE,
        "Which plan includes Entra ID P2?",
        "We need Privileged Identity Management for 5 administrators. Which plans include "
        "Entra ID P2, and can we buy P2 for those 5 users only?",
    ),
    # Phoned in and typed by the agent who took the call.
    DemoTicket(
        1 * D + 4 * H,
        "admin",
        TECH,
        "identity",
        DOWN,
        ONE,
        "MFA registration loops for one user",
        "One user is sent back to the MFA registration page after every sign-in, so she "
        "cannot work at all.",
        preferred_contact=ContactMethod.PHONE,
        phoned_to="agent2",
        steps=(
            claim(2 * M, "agent2"),
            reply(
                5 * M,
                "agent2",
                "I reset her authentication methods; please have her register again.",
            ),
            answer(30 * M, "Still looping, unfortunately."),
            note(
                40 * M,
                "agent2",
                "Check the Conditional Access policy for security info registration; offer a "
                "Temporary Access Pass.",
            ),
        ),
    ),
    DemoTicket(
        1 * D + 2 * H,
        "billing",
        PRESALES,
        "other",
        MINIMAL,
        ONE,
        "Trial of the Microsoft 365 E5 Security add-on",
        "Can we try E5 Security for 20 users before buying, and does the trial need a credit card?",
        steps=(
            ask(
                5 * H,
                "agent2",
                "The E5 Security trial attaches to Business Premium or E3: which of your "
                "subscriptions should it use?",
            ),
        ),
    ),
    DemoTicket(
        12 * H,
        "support",
        TECH,
        "sharepoint-online",
        DEGRADED,
        MANY,
        "External sharing links expire immediately",
        "'Anyone' links created in SharePoint and OneDrive since yesterday say 'This link has "
        "expired' as soon as they are opened. The tenant's expiry is set to 30 days.",
        steps=(assign(1 * H, "agent2"),),
    ),
    DemoTicket(
        5 * H,
        "billing",
        BILLING,
        "billing",
        MINIMAL,
        ONE,
        "How is adding 10 licences mid-term prorated?",
        "We will add 10 Business Premium licences in the middle of the term. How is the first "
        "invoice for them calculated?",
    ),
    DemoTicket(
        2 * H,
        "support",
        TECH,
        "exchange-online",
        MINIMAL,
        ONE,
        "Shared mailbox does not appear in Outlook for a new employee",
        "We gave a new employee Full Access to support@fabrikam.example an hour ago; it does "
        "not show in her Outlook, although it opens in Outlook on the web.",
    ),
)

DEMO_TICKETS: dict[str, tuple[DemoTicket, ...]] = {
    CONTOSO.slug: CONTOSO_TICKETS,
    FABRIKAM.slug: FABRIKAM_TICKETS,
}


# --- The command --------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Create the demo tenants, people and service requests (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        validate_password(DEMO_PASSWORD)
        self.now = timezone.now()
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()

        with transaction.atomic():
            staff = {key: self._user(person) for key, person in STAFF.items()}
            self._supervisors_group(staff["supervisor"])
            partner = self._ensure(
                Partner,
                {"name": PARTNER["name"]},
                {key: value for key, value in PARTNER.items() if key != "name"},
            )
            tenants = {
                tenant.slug: self._tenant(tenant, partner if tenant.partner else None)
                for tenant in TENANTS
            }
        for tenant in TENANTS:
            organization, members = tenants[tenant.slug]
            if organization.tickets.exists():
                continue
            with transaction.atomic():
                for spec in sorted(DEMO_TICKETS[tenant.slug], key=lambda t: -t.ago):
                    self._ticket(organization, members, staff, spec)
                # The demo's invented history has already "happened": it sends no e-mail.
                # Only what the workers do from now on (escalations, downgrades) does.
                Event.objects.filter(organization=organization, delivered_at__isnull=True).update(
                    delivered_at=self.now
                )

        self.created.update(seed_help_center(now=self.now))
        self._print_summary(tenants)

    # --- Reference data -----------------------------------------------------------------

    def _ensure[ModelT: models.Model](
        self,
        model: type[ModelT],
        lookup: dict[str, Any],
        values: dict[str, Any],
        *,
        on_create: dict[str, Any] | None = None,
    ) -> ModelT:
        """The row matching ``lookup``, created or brought up to ``values``.

        A row that already matches is not saved at all, so a second run writes nothing.
        ``on_create`` values (timestamps relative to now) are used for a new row only."""
        label = str(model._meta.verbose_name_plural)
        row = model._default_manager.filter(**lookup).first()
        if row is None:
            row = model(**lookup, **values, **(on_create or {}))
            if isinstance(row, User):
                row.set_password(DEMO_PASSWORD)
            row.save()
            self.created[label] += 1
            return row
        changed = [
            name
            for name, value in values.items()
            if not _same(model._meta.get_field(name), getattr(row, name), value)
        ]
        if changed:
            for name in changed:
                setattr(row, name, values[name])
            row.save(update_fields=changed)
            self.updated[label] += 1
        return row

    def _user(self, person: Person) -> User:
        return self._ensure(
            User,
            {"email": person.email},
            {
                "full_name": person.full_name,
                "language": person.language,
                "phone": person.phone,
                "staff_role": person.staff_role,
                "is_staff": person.is_staff,
                "is_superuser": person.is_superuser,
                "is_active": True,
            },
        )

    def _supervisors_group(self, supervisor: User) -> None:
        group, created = Group.objects.get_or_create(name=SUPERVISORS_GROUP)
        if created:
            self.created["groups"] += 1
        wanted = Q(codename__in=SUPERVISOR_EXTRA_PERMISSIONS, content_type__app_label="tenants")
        for app_label, actions in SUPERVISOR_PERMISSIONS.items():
            for action in actions:
                wanted |= Q(content_type__app_label=app_label, codename__startswith=f"{action}_")
        permissions = set(Permission.objects.filter(wanted))
        if set(group.permissions.all()) != permissions:
            group.permissions.set(permissions)
            if not created:
                self.updated["groups"] += 1
        if not supervisor.groups.filter(pk=group.pk).exists():
            supervisor.groups.add(group)
            self.created["group memberships"] += 1

    def _tenant(
        self, tenant: Tenant, partner: Partner | None
    ) -> tuple[Organization, dict[str, Membership]]:
        organization = self._ensure(
            Organization,
            {"slug": tenant.slug},
            {
                "name": tenant.name,
                "contract": tenant.contract,
                "country": tenant.country,
                "time_zone": tenant.time_zone,
                "partner": partner,
            },
        )
        for contact in tenant.phones:
            self._ensure(
                RegisteredPhone,
                {"organization": organization, "number": contact.value},
                {"label": contact.label},
                on_create=self._registration_times(contact),
            )
        for contact in tenant.emails:
            self._ensure(
                RegisteredEmail,
                {"organization": organization, "email": contact.value},
                {"label": contact.label},
                on_create=self._registration_times(contact),
            )
        members = {
            key: self._ensure(
                Membership,
                {"user": self._user(person), "organization": organization},
                {"role": role},
            )
            for key, (person, role) in tenant.members.items()
        }
        return organization, members

    def _registration_times(self, contact: Contact) -> dict[str, datetime]:
        if contact.usable:
            registered = self.now - 30 * D
            return {"created_at": registered, "active_from": registered + 2 * D}
        # Registered just now: still in its 48-hour cool-off (the model's default).
        return {"created_at": self.now}

    # --- Tickets, through the services only ---------------------------------------------

    def _ticket(
        self,
        organization: Organization,
        members: dict[str, Membership],
        staff: dict[str, User],
        spec: DemoTicket,
    ) -> Ticket:
        filed = self.now - spec.ago
        member = members[spec.filer]
        person = member.user
        actor = (
            Actor.for_user(staff[spec.phoned_to]) if spec.phoned_to else Actor.for_member(member)
        )
        draft = TicketDraft(
            title=spec.title,
            description=spec.description,
            category=spec.category,
            impact=spec.impact,
            scope=spec.scope,
            product=Service.objects.get(slug=spec.product),
            business_impact=spec.business_impact,
            contact_24x7=spec.contact_24x7,
            contact_phone=str(person.phone) if person.phone else None,
            contact_email=person.email,
            preferred_contact=spec.preferred_contact,
            language=person.language,
            channel=Channel.PHONE if spec.phoned_to else Channel.WEB,
            caller_phone=str(person.phone) if spec.phoned_to and person.phone else None,
        )
        # The portal assesses in the filer's language; the seed does the same.
        with translation.override(person.language):
            ticket = ticket_create(organization=organization, actor=actor, draft=draft, now=filed)
        self.created[str(Ticket._meta.verbose_name_plural)] += 1

        last = filed
        customer = Actor.for_member(member)
        for step in spec.steps:
            at = filed + step.after
            if at < last or at > self.now:
                raise CommandError(
                    f"Demo ticket {spec.title!r}: step {step.action!r} at +{step.after} is "
                    "out of order or in the future."
                )
            last = at
            by = customer if step.by == CUSTOMER else Actor.for_user(staff[step.by])
            self._step(ticket, step, by, staff, at)
        return ticket

    def _step(
        self, ticket: Ticket, step: Step, by: Actor, staff: dict[str, User], at: datetime
    ) -> None:
        match step.action:
            case "claim":
                ticket_assign(ticket=ticket, actor=by, assignee=by.user, now=at)
            case "assign":
                ticket_assign(ticket=ticket, actor=by, assignee=staff[step.to], now=at)
            case "reply":
                ticket_agent_reply(ticket=ticket, actor=by, body=step.text, now=at)
            case "ask":
                ticket_request_information(ticket=ticket, actor=by, body=step.text, now=at)
            case "answer":
                ticket_customer_reply(ticket=ticket, actor=by, body=step.text, now=at)
            case "note":
                ticket_internal_note(ticket=ticket, actor=by, body=step.text, now=at)
            case "resolve":
                ticket_resolve(ticket=ticket, actor=by, reason=step.text, now=at)
            case "rate":
                ticket_rate(ticket=ticket, actor=by, score=step.score, comment=step.text, now=at)
            case "close":
                ticket_close(ticket=ticket, actor=by, now=at)
            case _:
                raise CommandError(f"Unknown demo step {step.action!r}.")

    # --- Output ---------------------------------------------------------------------------

    def _print_summary(
        self, tenants: dict[str, tuple[Organization, dict[str, Membership]]]
    ) -> None:
        rows: list[tuple[str, str, str]] = [
            (STAFF["root"].email, "Superuser", "/admin/"),
            (STAFF["supervisor"].email, "Supervisor (desk and admin)", "/desk/, /admin/"),
            (STAFF["agent1"].email, "Support agent", "/desk/"),
            (STAFF["agent2"].email, "Support agent", "/desk/"),
        ]
        for tenant in TENANTS:
            organization, members = tenants[tenant.slug]
            for membership in members.values():
                language = " (Polski)" if membership.user.language == "pl" else ""
                rows.append(
                    (
                        membership.user.email,
                        f"{organization.name} – {membership.get_role_display()}{language}",
                        f"/portal/{organization.slug}/",
                    )
                )
        headers = ("E-mail", "Who", "Start at")
        widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(3)]

        def line(cells: tuple[str, str, str]) -> str:
            padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            return "  ".join(padded).rstrip()

        out = self.stdout
        out.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        out.write(line(headers))
        out.write(line(("-" * widths[0], "-" * widths[1], "-" * widths[2])))
        for row in rows:
            out.write(line(row))
        out.write("")
        if not self.created and not self.updated:
            out.write(self.style.SUCCESS("Nothing new: the demo data was already in place."))
            return
        if self.created:
            out.write(self.style.SUCCESS(f"Created – {_counts(self.created)}."))
        if self.updated:
            out.write(self.style.WARNING(f"Reset to the demo values – {_counts(self.updated)}."))


def _same(field: models.Field, current: Any, wanted: Any) -> bool:
    if field.is_relation:
        current_pk = current.pk if current is not None else None
        wanted_pk = wanted.pk if wanted is not None else None
        return current_pk == wanted_pk
    return field.get_prep_value(current) == field.get_prep_value(wanted)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{label} {count}" for label, count in counter.items())
