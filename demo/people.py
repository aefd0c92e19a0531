"""Demo data for the embedded portal: three institutes, their people, clearances and read-ins.

Every part is a function that can run again without changing anything it already made, so
`seed_demo` is idempotent; `demo.seed.seed_all` runs the parts in order. Everything is written
through the services as the system (`actor=None`), so the demo's history is in the audit trail
like any other.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import ClearanceGrant, Compartment, Country, Organisation, ReadIn, Tier, User, clearance_of
from accounts.roles import is_granted

# Shown in the README and printed by `make run`: these accounts exist only in the demo.
DEMO_PASSWORD = "accord-demo-password"  # noqa: S105  # nosec B105


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    org: str | None
    nationality: str
    title: str
    roles: tuple[str, ...] = ()
    tier: str | None = None
    days: int = 365
    read_ins: tuple[str, ...] = ()
    staff: bool = False


@dataclass
class DemoLogin:
    email: str
    title: str
    org: str
    clearance: str
    password: str
    totp_secret: str
    notes: list[str] = field(default_factory=list)


ORGANISATIONS = [
    # short name, name, country
    ("ukasi", "UK AI Security Institute", "GBR"),
    ("caisi", "US Center for AI Standards and Innovation", "USA"),
    ("cais", "Canadian AI Safety Institute", "CAN"),
]

COMPARTMENTS = [
    # code, name, owning organisation (its admins read people in; partners nominate)
    ("joint-ex-1", "Joint pre-deployment exercise 1", "ukasi"),
    ("cbrn", "Chemical, biological, radiological and nuclear uplift evaluations", "ukasi"),
]

PEOPLE = [
    Person(
        "olivia@ukasi.example",
        "Olivia Okafor",
        "ukasi",
        "GBR",
        "org admin",
        ("org_admin", "signatory"),
        "secret",
        read_ins=("joint-ex-1", "cbrn"),
    ),
    Person(
        "oscar@ukasi.example",
        "Oscar Osei",
        "ukasi",
        "GBR",
        "org admin",
        ("org_admin",),
        "secret",
        read_ins=("joint-ex-1",),
    ),
    Person(
        "alice@ukasi.example",
        "Alice Ahmed",
        "ukasi",
        "GBR",
        "analyst",
        ("author",),
        "official-sensitive",
        read_ins=("joint-ex-1",),
    ),
    Person(
        "uma@ukasi.example",
        "Uma Underwood",
        "ukasi",
        "USA",
        "analyst (US national)",
        ("author",),
        "secret",
        read_ins=("cbrn",),
    ),
    Person(
        "priya@ukasi.example",
        "Priya Patel",
        "ukasi",
        "GBR",
        "senior analyst",
        ("author",),
        "secret",
        read_ins=("joint-ex-1", "cbrn"),
    ),
    Person(
        "rachel@ukasi.example",
        "Rachel Reid",
        "ukasi",
        "GBR",
        "release officer",
        ("release_officer",),
        "secret",
        read_ins=("joint-ex-1", "cbrn"),
    ),
    Person("nadia@ukasi.example", "Nadia Novak", "ukasi", "GBR", "reviewer (not yet cleared)"),
    Person(
        "ursula@caisi.example",
        "Ursula Ulrich",
        "caisi",
        "USA",
        "org admin",
        ("org_admin", "signatory"),
        "secret",
        read_ins=("joint-ex-1",),
    ),
    Person("ravi@caisi.example", "Ravi Rao", "caisi", "USA", "release officer", ("release_officer",), "secret"),
    Person(
        "bob@caisi.example",
        "Bob Brown",
        "caisi",
        "USA",
        "reviewer",
        (),
        "official-sensitive",
        days=10,
        read_ins=("joint-ex-1",),
    ),
    Person("andrew@caisi.example", "Andrew Adams", "caisi", "USA", "senior analyst", ("author",), "secret"),
    Person(
        "sana@caisi.example",
        "Sana Shah",
        "caisi",
        "USA",
        "analyst, seconded to the UK institute for six months",
        ("author",),
        "official-sensitive",
    ),
    Person("chloe@cais.example", "Chloé Tremblay", "cais", "CAN", "org admin", ("org_admin", "signatory"), "secret"),
    Person("carl@cais.example", "Carl Côté", "cais", "CAN", "reviewer", (), "official"),
    Person(
        "gwen@cais.example", "Gwen Gallagher", "cais", "GBR", "analyst (UK national)", ("author",), "official-sensitive"
    ),
    Person("admin@accord.example", "Portal Admin", None, "GBR", "portal admin (staff)", staff=True),
]


def totp_secret(email: str) -> bytes:
    """A fixed 20-byte TOTP key per demo account, so the printed secrets never change."""
    return hashlib.sha256(f"accord-demo-totp:{email}".encode()).digest()[:20]


def base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


def seed_organisations() -> dict[str, Organisation]:
    orgs = {}
    for short_name, name, country in ORGANISATIONS:
        org = Organisation.objects.filter(short_name=short_name).first()
        if org is None:
            org = services.organisation_create(
                actor=None, name=name, short_name=short_name, country=Country.objects.get(code=country)
            )
        orgs[short_name] = org
    return orgs


def seed_compartments(orgs: dict[str, Organisation]) -> dict[str, Compartment]:
    compartments = {}
    for code, name, owner in COMPARTMENTS:
        compartments[code], _ = Compartment.objects.get_or_create(
            code=code, defaults={"name": name, "owner": orgs[owner]}
        )
        if compartments[code].owner_id is None:
            compartments[code].owner = orgs[owner]
            compartments[code].save(update_fields=["owner"])
    return compartments


def _account(person: Person, orgs: dict[str, Organisation]) -> User:
    user = User.objects.filter(email=person.email).first()
    if user is None:
        user = services.user_create(
            actor=None,
            organisation=orgs[person.org] if person.org else None,
            email=person.email,
            display_name=person.name,
            nationality=Country.objects.get(code=person.nationality),
            password=DEMO_PASSWORD,
            is_staff=person.staff,
            is_superuser=person.staff,
        )
    elif not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _authenticator(user: User) -> str:
    key = totp_secret(user.email)
    device = TOTPDevice.objects.filter(user=user, name="Demo authenticator").first()
    if device is None:
        TOTPDevice.objects.create(user=user, name="Demo authenticator", key=key.hex(), confirmed=True)
    elif device.key != key.hex() or not device.confirmed:
        device.key, device.confirmed = key.hex(), True
        device.save(update_fields=["key", "confirmed"])
    return base32(key)


def _access(user: User, person: Person, compartments: dict[str, Compartment]) -> None:
    for role in person.roles:
        if not is_granted(user, role, user.organisation):
            services.role_grant(actor=None, user=user, role=role)
    if person.tier and not ClearanceGrant.objects.valid_now().filter(user=user, tier__code=person.tier).exists():
        services.clearance_grant(
            actor=None,
            user=user,
            tier=Tier.objects.get(code=person.tier),
            valid_until=timezone.now() + timedelta(days=person.days),
            reason="Demo clearance",
        )
    for code in person.read_ins:
        if not ReadIn.objects.valid_now().filter(user=user, compartment=compartments[code]).exists():
            services.readin_grant(actor=None, user=user, compartment=compartments[code])


def seed_people(orgs: dict[str, Organisation], compartments: dict[str, Compartment]) -> list[DemoLogin]:
    logins = []
    for person in PEOPLE:
        user = _account(person, orgs)
        secret = _authenticator(user)
        _access(user, person, compartments)
        tier = clearance_of(user)
        logins.append(
            DemoLogin(
                email=person.email,
                title=person.title,
                org=person.org or "-",
                clearance=tier.name if tier else "-",
                password=DEMO_PASSWORD,
                totp_secret=secret,
            )
        )
    return logins


def seed_pending_approval(logins: list[DemoLogin]) -> None:
    """Alice waits for SECRET: Olivia asked, Oscar (the second UK admin) can approve."""
    alice = User.objects.get(email="alice@ukasi.example")
    olivia = User.objects.get(email="olivia@ukasi.example")
    secret = Tier.objects.get(code="secret")
    exists = ClearanceGrant.objects.filter(
        user=alice,
        tier=secret,
        revoked_at__isnull=True,
        status__in=[ClearanceGrant.Status.PENDING, ClearanceGrant.Status.ACTIVE],
    ).exists()
    if not exists:
        services.clearance_grant(
            actor=olivia,
            user=alice,
            tier=secret,
            valid_until=timezone.now() + timedelta(days=180),
            reason="Joint exercise work at SECRET",
        )
    for login in logins:
        if login.email == alice.email:
            login.notes.append("SECRET pending approval by oscar@")
