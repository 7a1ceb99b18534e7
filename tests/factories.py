"""factory_boy factories: the shared vocabulary of test data."""

from __future__ import annotations

import factory
from django.utils import timezone

from tenants.models import Contract, Membership, Organization, Role, StaffRole, User

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class AgentFactory(UserFactory):
    staff_role = StaffRole.AGENT


class SupervisorFactory(UserFactory):
    staff_role = StaffRole.SUPERVISOR
    is_staff = True


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    country = "PL"
    time_zone = "Europe/Warsaw"
    contract = Contract.ADVANCED


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.GLOBAL_ADMIN


def now() -> timezone.datetime:
    return timezone.now()


def set_duty_managers(*emails: str) -> None:
    """Who a level-2 escalation tells: the duty addresses of the default policy's
    version in force (severity.models.SlaPolicyVersion.duty_emails)."""
    from severity.models import SlaPolicy, SlaPolicyVersion, forget_targets

    version_id = SlaPolicy.objects.default().current_version_id
    SlaPolicyVersion.objects.filter(pk=version_id).update(duty_emails="\n".join(emails))
    forget_targets()
