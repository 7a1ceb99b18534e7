"""``manage.py create_api_key <org-slug> --name NAME [--role ROLE]``: prints the key once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tenants.api_keys import CredentialError, api_key_create
from tenants.models import Organization, Role


class Command(BaseCommand):
    help = "Issue an organization API key. The key is printed once and stored only hashed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("--name", required=True, help="what the key is for")
        parser.add_argument(
            "--role",
            default=Role.GLOBAL_ADMIN,
            choices=sorted(Role.admin_roles()),
            help="the admin role the key acts with (POL-WHO-2); default global_admin",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {options['organization']!r}.")
        try:
            issued = api_key_create(
                organization=organization,
                name=options["name"],
                role=options["role"],
                created_by=None,
                now=timezone.now(),
            )
        except CredentialError as error:
            raise CommandError(error.message) from error
        self.stderr.write(
            f"API key {issued.credential.prefix} for {organization.slug} "
            f"({issued.credential.role}). It is shown only now:"
        )
        self.stdout.write(issued.secret)
