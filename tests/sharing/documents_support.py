"""Builders shared by the document tests (plain functions, so any test module can use them)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Compartment, Country, Organisation, ReadIn, User
from audit.models import AuditEvent
from sharing.models import Caveat, Document, RiskDomain
from sharing.services import document_create
from tests.factories import UserFactory, give_role, grant_clearance, tier


def author_of(organisation: Organisation, tier_code: str = "secret", *, email: str | None = None) -> User:
    """A member of `organisation` holding the author role and the given clearance."""
    kwargs = {"email": email} if email else {}
    user = UserFactory(organisation=organisation, **kwargs)
    give_role(user, "author")
    grant_clearance(user, tier_code)
    return user


def compartment(code: str = "joint-ex-1") -> Compartment:
    return Compartment.objects.get_or_create(code=code, defaults={"name": code.replace("-", " ").title()})[0]


def read_in(user: User, target: Compartment, *, expires_in: timedelta | None = None, revoked=False) -> ReadIn:
    now = timezone.now()
    return ReadIn.objects.create(
        user=user,
        compartment=target,
        granted_at=now - timedelta(minutes=5),
        expires_at=now + expires_in if expires_in is not None else None,
        revoked_at=now - timedelta(minutes=1) if revoked else None,
    )


def countries(*codes: str) -> list[Country]:
    return list(Country.objects.filter(code__in=codes))


def caveat(code: str = "orcon") -> Caveat:
    return Caveat.objects.get(code=code)


def domains(*codes: str) -> list[RiskDomain]:
    return list(RiskDomain.objects.filter(code__in=codes))


def new_document(author: User, **overrides) -> Document:
    """A draft by `author` through the real service: OFFICIAL, releasable to the USA."""
    fields = {
        "title": "Tool-use uplift on Frontier-7",
        "summary": "Agents with tools solved more tasks.",
        "body": "## Method\n\nWe ran the suite.",
        "tier": tier("official"),
        "releasable_to": countries("USA"),
        "model_developer": "Example Labs",
        "model_name": "Frontier-7",
        "model_version": "2025-06",
    }
    fields.update(overrides)
    return document_create(actor=author, **fields)


def last_event(action: str | None = None) -> AuditEvent:
    events = AuditEvent.objects.order_by("-seq")
    if action is not None:
        events = events.filter(action=action)
    event = events.first()
    assert event is not None, f"no audit event {action}"
    return event
