"""``manage.py create_agent_token <email> [--name NAME]``: prints the token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tenants.api_keys import CredentialError, agent_token_create
from tenants.models import User


class Command(BaseCommand):
    help = "Issue a support agent's personal API token, printed once and stored only hashed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the agent's e-mail address")
        parser.add_argument("--name", default="API token", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No user with the e-mail address {options['email']!r}.")
        try:
            issued = agent_token_create(user=user, name=options["name"], now=timezone.now())
        except CredentialError as error:
            raise CommandError(error.message) from error
        self.stderr.write(f"Agent token {issued.credential.prefix} for {user.email}, shown once:")
        self.stdout.write(issued.secret)
