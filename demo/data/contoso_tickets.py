"""Contoso's service requests (filed by its admins in English and Polish, some phoned in),
from closed ones nine days old to a Severity A request breaching minutes after seeding."""

from __future__ import annotations

from demo.data.conversation import (
    BILLING,
    DEGRADED,
    DOWN,
    MANY,
    MINIMAL,
    ONE,
    PRESALES,
    TECH,
    D,
    DemoTicket,
    H,
    M,
    answer,
    ask,
    assign,
    claim,
    close,
    note,
    rate,
    reply,
    resolve,
)
from tickets.models import ContactMethod

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
