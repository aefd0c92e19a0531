"""The demo's joint testing exercise, JOINT-EX-2: led by the UK with the US, under the live
UK-US agreement, on a publicly accessible model with one reference model, running under an
adopted protocol of three Inspect tasks. The Canadian institute sees nothing of it.

Everything goes through the services, read-ins included (the UK admin reads in her people; the
US admin nominates his and the UK admin approves), so the audit trail reads like real use.
Calling it again changes nothing.
"""

from __future__ import annotations

from accounts.models import ReadIn, ReadInNomination, Tier, User
from accounts.roles import Role, grant_role
from accounts.services import readin_grant, readin_nominate, readin_nomination_approve
from exercises.models import Exercise, ProtocolVersion
from exercises.services import exercise_advance, exercise_create, protocol_draft, protocol_sign
from sharing.models import RiskDomain, SharingAgreement

REFERENCE = "JOINT-EX-2"
TARGET_MODEL = "example/frontier-7-2025-06"
REFERENCE_MODEL = "example/open-5-2025-01"
TASKS = [
    {
        "task": "inspect_evals/gdm_intercode_ctf",
        "task_version": "1.0.0",
        "dataset": "intercode_ctf",
        "sample_ids": list(range(1, 21)),
        "scorers": ["includes"],
        "metrics": ["accuracy", "stderr"],
        "epochs": 2,
        "temperature": 0.5,
        "max_tokens": 4096,
        "seed": 2026,
        "solver": "basic_agent",
    },
    {
        "task": "inspect_evals/cybench",
        "task_version": "1.0.0",
        "dataset": "cybench",
        "sample_ids": ["avatar", "back_to_the_past", "chunky", "delulu", "dynastic", "flag_command"],
        "scorers": ["includes"],
        "metrics": ["accuracy", "stderr"],
        "epochs": 3,
        "temperature": 0.5,
        "max_tokens": 8192,
        "seed": 2026,
        "solver": "basic_agent",
    },
    {
        "task": "inspect_evals/agentharm",
        "task_version": "1.0.0",
        "dataset": "agentharm",
        "sample_ids": [f"{n}-{k}" for n in range(1, 6) for k in range(1, 3)],
        "scorers": ["combined_scorer"],
        "metrics": ["avg_score", "avg_refusals"],
        "epochs": 1,
        "temperature": 0.0,
        "max_tokens": 4096,
        "solver": "react",
    },
]


def seed_demo_exercise(*, agreement: SharingAgreement, people: dict[str, User]) -> Exercise:
    """JOINT-EX-2, with its people read in, its protocol adopted and the exercise running."""
    uk_admin, us_admin = people["olivia@ukasi.example"], people["ursula@caisi.example"]
    uk_lead, us_signatory = people["priya@ukasi.example"], people["andrew@caisi.example"]
    exercise = Exercise.objects.filter(reference=REFERENCE).first()
    if exercise is None:
        exercise = exercise_create(
            actor=uk_admin,
            reference=REFERENCE,
            title="Cyber offence uplift of Frontier-7 against Open-5",
            agreement=agreement,
            participants=[us_admin.organisation],
            target_developer="Example Labs",
            target_name="Frontier-7",
            target_version="2025-06",
            target_access=Exercise.Access.PUBLIC,
            reference_models=[{"developer": "Example Labs", "name": "Open-5", "version": "2025-01"}],
            risk_domains=RiskDomain.objects.filter(code__in=["cyber-offence", "autonomy"]),
            tier=Tier.objects.get(code="official-sensitive"),
        )
    compartment = exercise.compartment
    for email in ("priya@ukasi.example", "alice@ukasi.example", "rachel@ukasi.example"):
        if not ReadIn.objects.valid_now().filter(user=people[email], compartment=compartment).exists():
            readin_grant(actor=uk_admin, user=people[email], compartment=compartment)
    # The US signs through Andrew, its senior analyst, made a signatory for the exercise.
    grant_role(us_signatory, Role.SIGNATORY, us_signatory.organisation)
    for email in ("andrew@caisi.example", "bob@caisi.example"):
        person = people[email]
        if ReadIn.objects.valid_now().filter(user=person, compartment=compartment).exists():
            continue
        nomination = ReadInNomination.objects.filter(
            user=person, compartment=compartment, status=ReadInNomination.Status.PENDING
        ).first() or readin_nominate(actor=us_admin, user=person, compartment=compartment)
        readin_nomination_approve(actor=uk_admin, nomination=nomination)
    if not exercise.protocol_versions.exists():
        version = protocol_draft(
            actor=uk_lead,
            exercise=exercise,
            target_model=TARGET_MODEL,
            reference_models=[REFERENCE_MODEL],
            tasks=TASKS,
            notes="Both institutes run every task against both models with these settings.",
        )
        for signatory in (uk_admin, us_signatory):
            version = protocol_sign(actor=signatory, version=version, digest=version.digest)
    adopted = exercise.protocol_versions.filter(status=ProtocolVersion.Status.ADOPTED).exists()
    if adopted and exercise.phase == Exercise.Phase.PLANNING:
        exercise = exercise_advance(actor=uk_lead, exercise=exercise, to=Exercise.Phase.RUNNING)
    return exercise
