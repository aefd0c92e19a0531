"""The whole demo, in order: people first, then findings, agreements and releases, then eval logs.

`demo` is the only package allowed to import every app (see docs/ARCHITECTURE.md), so the steps
that need several apps at once are put together here.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Organisation, User

from .agreements import seed_demo_agreements
from .documents import seed_documents
from .eval_logs import seed_eval_logs
from .exchanges import seed_secondment
from .exercises import seed_demo_exercise
from .people import PEOPLE, DemoLogin, seed_compartments, seed_organisations, seed_pending_approval, seed_people


def seed_all() -> list[DemoLogin]:
    """The whole demo, in order. Later parts add their steps here."""
    with transaction.atomic():
        orgs = seed_organisations()
        compartments = seed_compartments(orgs)
        logins = seed_people(orgs, compartments)
        seed_pending_approval(logins)
        seed_sharing(orgs)
        seed_exchanges(orgs)
    return logins


def seed_sharing(orgs: dict[str, Organisation]) -> None:
    """Findings at every tier, a live UK-US agreement with approved releases, Canada with none,
    Inspect eval logs on three UK findings, and the joint exercise JOINT-EX-2."""
    people = {u.email: u for u in User.objects.filter(email__in=[p.email for p in PEOPLE])}
    documents = seed_documents(uk_author=people["priya@ukasi.example"], us_author=people["andrew@caisi.example"])
    # Files first: a release pins the revision its officer approves, files and all.
    seed_eval_logs(originator=orgs["ukasi"])
    sharing = seed_demo_agreements(
        portal_admin=people["admin@accord.example"],
        uk=orgs["ukasi"],
        us=orgs["caisi"],
        canada=orgs["cais"],
        uk_signatory=people["olivia@ukasi.example"],
        us_signatory=people["ursula@caisi.example"],
        uk_release_officer=people["rachel@ukasi.example"],
        documents=[d for d in documents if d.originator_id == orgs["ukasi"].pk],
    )
    # JOINT-EX-2: a UK-led exercise with the US, running under an adopted protocol.
    seed_demo_exercise(agreement=sharing.agreement, people=people)


def seed_exchanges(orgs: dict[str, Organisation]) -> None:
    """Sana, a US analyst, seconded to the UK institute for six months, approved by both sides."""
    people = {u.email: u for u in User.objects.filter(email__in=[p.email for p in PEOPLE])}
    seed_secondment(
        portal_admin=people["admin@accord.example"],
        uk=orgs["ukasi"],
        us=orgs["caisi"],
        uk_admin=people["olivia@ukasi.example"],
        us_admin=people["ursula@caisi.example"],
        secondee=people["sana@caisi.example"],
    )
