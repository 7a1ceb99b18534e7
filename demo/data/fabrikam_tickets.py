"""Fabrikam's service requests: a standard contract, so a request answered as Severity A is
capped at B."""

from __future__ import annotations

from demo.data.conversation import (
    BILLING,
    CUSTOMER,
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
    reply,
    resolve,
)
from tickets.models import ContactMethod

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
