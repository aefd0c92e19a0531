"""Factories for test data. Countries and tiers come from the seed migration."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ClearanceGrant, Country, Organisation, Tier, User
from accounts.roles import grant_role

PASSWORD = "correct horse battery staple"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("short_name",)

    name = factory.Sequence(lambda n: f"Institute {n}")
    short_name = factory.Sequence(lambda n: f"inst{n}")
    country = factory.LazyFunction(lambda: Country.objects.get(code="GBR"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    nationality = factory.LazyAttribute(
        lambda o: o.organisation.country if o.organisation else Country.objects.get(code="GBR")
    )

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


def tier(code: str) -> Tier:
    return Tier.objects.get(code=code)


def grant_clearance(user: User, tier_code: str, *, days: int = 365, by: User | None = None) -> ClearanceGrant:
    now = timezone.now()
    return ClearanceGrant.objects.create(
        user=user,
        tier=tier(tier_code),
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=days),
        reason="test",
        granted_by=by,
    )


def give_role(user: User, role: str, organisation: Organisation | None = None) -> None:
    grant_role(user, role, organisation or user.organisation)


def totp_device(user: User) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="Authenticator", defaults={"confirmed": True})
    return device


def login_verified(client, user: User) -> None:
    """Sign the test client in as `user`, past MFA, as the real journey would leave it."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
