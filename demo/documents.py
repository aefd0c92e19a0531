"""Demo findings for the embedded demo (`manage.py seed_demo`): every tier, varied releasability,
compartments, one ORCON and one eyes-only document, drafts, and one withdrawn after a marking
change, all written through the services so each has its revisions and audit trail."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Compartment, Country, ReadIn, Tier, User, clearance_of
from accounts.roles import Role, has_role
from sharing.models import Caveat, Document, RiskDomain
from sharing.services import document_create, document_publish, document_update, document_withdraw

COMPARTMENTS = [
    ("joint-ex-1", "Joint testing exercise 1", "The first joint pre-deployment testing exercise."),
    ("cbrn", "CBRN evaluation stream", "Chemical, biological, radiological and nuclear uplift work."),
]

BODY = """## Summary of method

We ran the **{suite}** suite against `{model}` with {epochs} epochs per sample.

| Task | Samples | Success rate |
|---|---|---|
| Baseline | 120 | 0.18 |
| With tools | 120 | {rate} |

## Findings

1. Performance rose with tool access.
2. Refusals were inconsistent across paraphrases.

> Results are preliminary and must not be quoted outside the marking.
"""

# title, tier, releasable countries (besides the originator's), compartments, caveats, risk
# domains, model (developer, name, version), final status.
UK_DOCUMENTS = [
    (
        "Jailbreak robustness of Frontier-7",
        "official",
        ["USA"],
        [],
        [],
        ["safeguards"],
        ("Example Labs", "Frontier-7", "2025-06"),
        "published",
    ),
    (
        "Joint exercise 1: autonomous replication tasks",
        "official-sensitive",
        ["USA"],
        ["joint-ex-1"],
        [],
        ["autonomy"],
        ("Example Labs", "Frontier-7", "2025-06"),
        "published",
    ),
    (
        "Cyber-offence uplift on capture-the-flag ranges",
        "secret",
        [],
        [],
        [],
        ["cyber-offence"],
        ("Northwind AI", "Atlas", "3.1"),
        "published",
    ),
    (
        "Persuasion study: opinion shift in long conversations",
        "official-sensitive",
        ["USA", "CAN"],
        [],
        ["orcon"],
        ["persuasion"],
        ("Northwind AI", "Atlas", "3.1"),
        "published",
    ),
    (
        "CBRN protocol troubleshooting uplift",
        "secret",
        ["USA"],
        ["cbrn"],
        [],
        ["cbrn"],
        ("Example Labs", "Frontier-7", "2025-06"),
        "draft",
    ),
]
US_DOCUMENTS = [
    (
        "Automated ML research agent benchmark",
        "official",
        ["GBR"],
        [],
        [],
        ["ai-rnd"],
        ("Northwind AI", "Atlas", "3.1"),
        "published",
    ),
    (
        "Self-exfiltration attempts under sandbox pressure",
        "official-sensitive",
        [],
        [],
        [],
        ["autonomy", "safeguards"],
        ("Example Labs", "Frontier-7", "2025-06"),
        "published",
    ),
]
WITHDRAWN_TITLE = "Early read-out: tool-use evaluation (superseded)"


def _ensure_ready(author: User, compartments: dict[str, Compartment]) -> None:
    secret = Tier.objects.order_by("-rank").first()
    clearance = clearance_of(author)
    if not has_role(author, Role.AUTHOR, author.organisation):
        raise ValueError(f"{author} needs the author role on {author.organisation} to seed documents")
    if clearance is None or secret is None or clearance.rank < secret.rank:
        raise ValueError(f"{author} needs a clearance at the highest tier to seed documents at every tier")
    for compartment in compartments.values():
        if not ReadIn.objects.valid_now().filter(user=author, compartment=compartment).exists():
            ReadIn.objects.create(
                user=author,
                compartment=compartment,
                granted_by=None,
                granted_at=timezone.now() - timedelta(minutes=1),
            )


def _create(author: User, spec: tuple, compartments: dict[str, Compartment]) -> Document | None:
    title, tier, countries, comps, caveats, domains, (developer, model, version), status = spec
    if Document.objects.filter(originator=author.organisation, title=title).exists():
        return None
    document = document_create(
        actor=author,
        title=title,
        summary=f"What {model} {version} did on our {domains[0]} evaluations, and what it means.",
        body=BODY.format(suite=domains[0], model=model, epochs=3, rate="0.41"),
        tier=Tier.objects.get(code=tier),
        releasable_to=Country.objects.filter(code__in=countries),
        compartments=[compartments[c] for c in comps],
        caveats=Caveat.objects.filter(code__in=caveats),
        risk_domains=RiskDomain.objects.filter(code__in=domains),
        model_developer=developer,
        model_name=model,
        model_version=version,
    )
    if status == Document.Status.PUBLISHED:
        document = document_publish(actor=author, document=document)
    return document


@transaction.atomic
def seed_documents(*, uk_author: User, us_author: User | None = None) -> list[Document]:
    """Create the demo documents once (documents already present by title are left alone).

    Each author must hold the author role on their organisation and a clearance at the highest
    tier; the demo compartments (JOINT-EX-1, CBRN, owned by the UK author's institute) are
    created if missing and the authors read in to them. Returns the documents created by this call.
    """
    # The demo compartments belong to the UK institute: its admins read people in to them.
    owner = uk_author.organisation
    compartments = {
        code: Compartment.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "owner": owner}
        )[0]
        for code, name, description in COMPARTMENTS
    }
    Compartment.objects.filter(pk__in=[c.pk for c in compartments.values()], owner__isnull=True).update(owner=owner)
    created: list[Document] = []
    for author, specs in ((uk_author, UK_DOCUMENTS), (us_author, US_DOCUMENTS)):
        if author is None:
            continue
        _ensure_ready(author, compartments)
        created += [d for d in (_create(author, spec, compartments) for spec in specs) if d is not None]
    superseded = _create(
        uk_author,
        (
            WITHDRAWN_TITLE,
            "official",
            ["USA"],
            [],
            [],
            ["other"],
            ("Example Labs", "Frontier-7", "2025-05"),
            "published",
        ),
        compartments,
    )
    if superseded is not None:
        # The history shows a marking raised after publication, then the withdrawal.
        superseded = document_update(
            actor=uk_author,
            document=superseded,
            tier=Tier.objects.get(code="official-sensitive"),
            caveats=Caveat.objects.filter(code="orcon"),
        )
        superseded = document_withdraw(actor=uk_author, document=superseded, reason="Superseded by the full report.")
        created.append(superseded)
    return created
