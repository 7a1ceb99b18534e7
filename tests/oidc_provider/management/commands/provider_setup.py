"""Prepares the test provider: its database, one confidential client that skips the
consent screen, and the people who can sign in there."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import Application

from tests.oidc_provider.validator import UNVERIFIED_GROUP


class Command(BaseCommand):
    help = "Migrate, then create the client and the people of the test OpenID provider."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", required=True)
        parser.add_argument("--post-logout-redirect-uri", required=True)
        parser.add_argument(
            "--person",
            action="append",
            default=[],
            help="email:password, or email:password:unverified",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0)
        Application.objects.create(
            name="supportdesk",
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=options["redirect_uri"],
            # Where its RP-initiated logout may send the browser back to.
            post_logout_redirect_uris=options["post_logout_redirect_uri"],
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=True,
        )
        unverified = Group.objects.create(name=UNVERIFIED_GROUP)
        for spec in options["person"]:
            email, password, *flags = spec.split(":")
            user = User.objects.create_user(username=email, email=email, password=password)
            if "unverified" in flags:
                user.groups.add(unverified)
