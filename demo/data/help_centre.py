"""Demo self-help content: incidents (one still open) and help articles in English and
Polish."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from helpcenter.models import IncidentImpact, IncidentStatus

H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DemoUpdate:
    after: timedelta  # since the incident started
    status: str
    body: str
    body_pl: str = ""


@dataclass(frozen=True, slots=True)
class DemoIncident:
    service: str  # slug
    ago: timedelta  # when it started
    impact: str
    title: str
    title_pl: str
    summary: str
    summary_pl: str
    updates: tuple[DemoUpdate, ...] = field(default=())


INCIDENTS: tuple[DemoIncident, ...] = (
    DemoIncident(
        "exchange-online",
        3 * H,
        IncidentImpact.DEGRADED,
        "Delays sending mail to external recipients",
        "Opóźnienia w wysyłaniu poczty do odbiorców zewnętrznych",
        "Some users see messages to external recipients wait in the outbox for up to an "
        "hour. Internal mail is not affected.",
        "Część użytkowników widzi, że wiadomości do odbiorców zewnętrznych czekają w skrzynce "
        "nadawczej do godziny. Poczta wewnętrzna działa normalnie.",
        (
            DemoUpdate(
                10 * timedelta(minutes=1),
                IncidentStatus.INVESTIGATING,
                "We are investigating reports of delayed outbound mail.",
                "Badamy zgłoszenia opóźnionej poczty wychodzącej.",
            ),
            DemoUpdate(
                90 * timedelta(minutes=1),
                IncidentStatus.IDENTIFIED,
                "A configuration change on part of the outbound mail servers caused the "
                "delays. We are rolling it back; queued messages will be delivered.",
                "Przyczyną jest zmiana konfiguracji części serwerów poczty wychodzącej. "
                "Wycofujemy ją; wiadomości z kolejki zostaną dostarczone.",
            ),
        ),
    ),
    DemoIncident(
        "teams",
        4 * D,
        IncidentImpact.OUTAGE,
        "Users cannot join scheduled meetings",
        "Użytkownicy nie mogą dołączyć do zaplanowanych spotkań",
        "Joining a scheduled meeting from the calendar failed with an error for users in Europe.",
        "Dołączanie do zaplanowanego spotkania z kalendarza kończyło się błędem dla "
        "użytkowników w Europie.",
        (
            DemoUpdate(
                15 * timedelta(minutes=1),
                IncidentStatus.INVESTIGATING,
                "We are investigating failures to join meetings.",
                "Badamy problemy z dołączaniem do spotkań.",
            ),
            DemoUpdate(
                1 * H,
                IncidentStatus.MONITORING,
                "A fix has been deployed; we are watching meeting joins recover.",
                "Wdrożyliśmy poprawkę i obserwujemy powrót do normy.",
            ),
            DemoUpdate(
                3 * H,
                IncidentStatus.RESOLVED,
                "Meeting joins have worked normally for two hours. The incident is resolved.",
                "Od dwóch godzin dołączanie do spotkań działa normalnie. Incydent rozwiązany.",
            ),
        ),
    ),
    DemoIncident(
        "sharepoint-online",
        12 * D,
        IncidentImpact.ADVISORY,
        "Slow search results in SharePoint sites",
        "Wolne wyniki wyszukiwania w witrynach SharePoint",
        "Search in some SharePoint sites took longer than usual to return results.",
        "Wyszukiwanie w niektórych witrynach SharePoint trwało dłużej niż zwykle.",
        (
            DemoUpdate(
                30 * timedelta(minutes=1),
                IncidentStatus.IDENTIFIED,
                "An indexing backlog slows search; we have added capacity.",
                "Zaległości w indeksowaniu spowalniają wyszukiwanie; zwiększyliśmy zasoby.",
            ),
            DemoUpdate(
                6 * H,
                IncidentStatus.RESOLVED,
                "The backlog is cleared and search is back to normal speed.",
                "Zaległości zostały nadrobione, wyszukiwanie działa z normalną szybkością.",
            ),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoArticle:
    slug: str
    language: str
    services: tuple[str, ...]
    title: str
    body: str


ARTICLES: tuple[DemoArticle, ...] = (
    DemoArticle(
        "add-a-shared-mailbox",
        "en",
        ("exchange-online",),
        "Create a shared mailbox and give people access",
        """A shared mailbox lets a group of people read and send mail from one address,
such as *support@* or *info@*.

## Create it
1. In the admin centre, open **Teams & groups › Shared mailboxes**.
2. Choose **Add a shared mailbox**, enter a name and an address, and save.

## Give people access
Choose **Edit** next to *Members* and add the users. **Full Access** lets them open the
mailbox; **Send As** lets them send from its address.

> It can take up to an hour before the mailbox appears in Outlook. In Outlook on the web
> it shows up at once.
""",
    ),
    DemoArticle(
        "set-up-mail-forwarding",
        "en",
        ("exchange-online",),
        "Forward a user's mail to another address",
        """Forwarding sends a copy of every incoming message to another address, for
example while an employee is away.

1. Open **Users › Active users** and select the user.
2. On the **Mail** tab choose **Manage email forwarding**.
3. Turn forwarding on, enter the address, and choose whether to keep a copy.

Forwarding to addresses **outside** your organization may be blocked by the outbound spam
policy; ask your admin to allow it if needed.
""",
    ),
    DemoArticle(
        "fix-outlook-autodiscover",
        "en",
        ("exchange-online", "m365-apps"),
        "Outlook keeps asking for a password: check Autodiscover",
        """Outlook finds the mail server through the **Autodiscover** DNS record. If the
record is missing or points to an old server, Outlook prompts for a password again and
again.

| Record | Type | Value |
| --- | --- | --- |
| autodiscover | CNAME | autodiscover.outlook.com |

After you fix the record, allow up to an hour for DNS to update, then restart Outlook.
""",
    ),
    DemoArticle(
        "password-never-expires",
        "en",
        ("identity", "admin-center"),
        "Set a password that never expires",
        """By default passwords expire after a set number of days. To change the policy
for the whole organization:

1. Open **Settings › Org settings › Security & privacy**.
2. Choose **Password expiration policy**.
3. Select **Set passwords to never expire** and save.

Passwords that never expire are recommended together with **multi-factor
authentication**.
""",
    ),
    DemoArticle(
        "invite-external-users-sharepoint",
        "en",
        ("sharepoint-online",),
        "Share a SharePoint site with people outside your organization",
        """External sharing must be allowed at two levels: the organization and the site.

1. In the SharePoint admin centre, open **Policies › Sharing** and allow *New and
   existing guests*.
2. Open **Sites › Active sites**, select the site, and set **External file sharing**.
3. On the site, choose **Share** and enter the guest's e-mail address.

Guests receive an invitation by e-mail and sign in with a one-time code.
""",
    ),
    DemoArticle(
        "udostepniona-skrzynka-pocztowa",
        "pl",
        ("exchange-online",),
        "Tworzenie udostępnionej skrzynki pocztowej",
        """Udostępniona skrzynka pocztowa pozwala kilku osobom odczytywać i wysyłać
wiadomości z jednego adresu, na przykład *biuro@*.

## Tworzenie
1. W centrum administracyjnym otwórz **Zespoły i grupy › Udostępnione skrzynki pocztowe**.
2. Wybierz **Dodaj udostępnioną skrzynkę pocztową**, wpisz nazwę i adres, zapisz.

## Nadawanie dostępu
Przy *Członkowie* wybierz **Edytuj** i dodaj użytkowników. **Pełny dostęp** pozwala
otworzyć skrzynkę, **Wyślij jako** — wysyłać z jej adresu.

> Skrzynka może pojawić się w programie Outlook dopiero po godzinie.
""",
    ),
    DemoArticle(
        "przekazywanie-poczty",
        "pl",
        ("exchange-online",),
        "Przekazywanie poczty użytkownika na inny adres",
        """Przekazywanie wysyła kopię każdej przychodzącej wiadomości na inny adres.

1. Otwórz **Użytkownicy › Aktywni użytkownicy** i wybierz osobę.
2. Na karcie **Poczta** wybierz **Zarządzaj przekazywaniem poczty e-mail**.
3. Włącz przekazywanie, wpisz adres i zdecyduj, czy zachować kopię.

Przekazywanie **poza organizację** może blokować zasada ochrony przed spamem.
""",
    ),
    DemoArticle(
        "haslo-bez-wygasania",
        "pl",
        ("identity", "admin-center"),
        "Ustawianie hasła, które nigdy nie wygasa",
        """Domyślnie hasła wygasają po określonej liczbie dni. Aby zmienić zasadę dla całej
organizacji:

1. Otwórz **Ustawienia › Ustawienia organizacji › Zabezpieczenia i prywatność**.
2. Wybierz **Zasady wygasania haseł**.
3. Zaznacz **Ustaw hasła tak, aby nigdy nie wygasały** i zapisz.

Zalecamy jednoczesne włączenie **uwierzytelniania wieloskładnikowego**.
""",
    ),
    DemoArticle(
        "synchronizacja-katalogu",
        "pl",
        ("directory-sync",),
        "Synchronizacja katalogu nie działa: co sprawdzić",
        """Jeśli zmiany z lokalnej usługi Active Directory nie pojawiają się w chmurze:

1. Sprawdź w centrum administracyjnym, kiedy była **ostatnia synchronizacja**.
2. Na serwerze synchronizacji uruchom narzędzie i sprawdź **błędy eksportu**.
3. Najczęstsza przyczyna to zduplikowany atrybut `proxyAddresses` lub `userPrincipalName`.

Pełna synchronizacja odbywa się co 30 minut.
""",
    ),
)
