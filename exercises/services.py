"""Every write about exercises: creating one (with its compartment), moving it through its
phases, drafting its protocol, and signing a protocol version.

Each service takes keyword-only arguments and an explicit `actor`, checks its rules, and writes
its change and its audit event in one transaction; a refusal is audited (`audit.services.refuse`)
and leaves nothing written. Refusals found under a row lock are raised after the transaction
closes, so the audited denial is not rolled back with it (the pattern of `agreement_sign`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Country, Organisation, Tier, clearance_of
from accounts.roles import Role, has_role
from accounts.services import compartment_create
from audit.models import Action
from audit.reasons import Reason, Refusal
from audit.services import record, refuse
from sharing.models import AgreementParty, RiskDomain, SharingAgreement
from sharing.services import document_create

from . import protocol as spec
from .models import (
    Exercise,
    ExerciseRun,
    Participant,
    ProtocolSignature,
    ProtocolTask,
    ProtocolVersion,
    ReferenceModel,
)
from .policy import can_see, can_sign, require_lead

Phase = Exercise.Phase
# The protocol is drafted and signed before and while the runs are made, not after.
PROTOCOL_PHASES = {Phase.PLANNING, Phase.RUNNING}


def _check_agreement(actor, target, *, agreement: SharingAgreement, organisations, risk_domains, tier: Tier) -> None:
    now = timezone.now()
    action = Action.EXERCISE_CREATED
    if not (
        agreement.status == SharingAgreement.Status.ACTIVE and agreement.effective_from <= now < agreement.expires_at
    ):
        refuse(actor, action, target, Reason.AGREEMENT_NOT_IN_FORCE, field="agreement")
    parties = set(AgreementParty.objects.filter(agreement=agreement).values_list("organisation_id", flat=True))
    for organisation in organisations:
        if organisation.pk not in parties:
            refusal = Reason.ORGANISATION_NOT_A_PARTY_TO_AGREEMENT.because(organisation=str(organisation))
            refuse(actor, action, target, refusal, field="participants")
    topics = set(agreement.risk_domains.values_list("pk", flat=True))
    if not risk_domains or any(domain.pk not in topics for domain in risk_domains):
        refuse(actor, action, target, Reason.RISK_DOMAIN_OUTSIDE_TOPICS, field="risk_domains")
    if tier.rank > agreement.tier_ceiling.rank:
        refuse(actor, action, target, Reason.TIER_ABOVE_CEILING, field="tier")


def exercise_create(
    *,
    actor,
    reference: str,
    title: str,
    agreement: SharingAgreement,
    participants: Iterable[Organisation],
    target_developer: str,
    target_name: str,
    target_version: str,
    target_access: str,
    risk_domains: Iterable[RiskDomain],
    tier: Tier,
    reference_models: Iterable[dict] = (),
    releasable_to: Iterable[Country] | None = None,
) -> Exercise:
    """Set up an exercise led by the actor's organisation (the actor is one of its admins), under
    an agreement in force that names every participant and covers its risk domains and tier.
    Its compartment, owned by the lead, is made with it and the actor read in to it."""
    action = Action.EXERCISE_CREATED
    reference = (reference or "").strip().upper()
    target = ("exercises.exercise", "", reference[:60])
    lead = actor.organisation
    if lead is None or not has_role(actor, Role.ORG_ADMIN, lead):
        refuse(actor, action, target, Reason.NOT_AN_ORGANISATION_ADMIN, error=PermissionDenied)
    organisations = list({org.pk: org for org in [lead, *participants]}.values())
    risk_domains = list(risk_domains)
    if len(organisations) < 2:
        refuse(actor, action, target, Reason.EXERCISE_NEEDS_A_PARTNER, field="participants")
    _check_agreement(
        actor, target, agreement=agreement, organisations=organisations, risk_domains=risk_domains, tier=tier
    )
    own = clearance_of(actor)
    if own is None or own.rank < tier.rank:
        refuse(actor, action, target, Reason.MARKING_ABOVE_CLEARANCE, field="tier")
    countries = list(releasable_to) if releasable_to is not None else [org.country for org in organisations]
    if lead.country_id not in {country.pk for country in countries}:
        countries.append(lead.country)
    if Exercise.objects.filter(reference=reference).exists():
        refuse(actor, action, target, Reason.EXERCISE_REFERENCE_TAKEN, field="reference")
    exercise = Exercise(
        reference=reference,
        title=(title or "").strip(),
        agreement=agreement,
        lead=lead,
        target_developer=(target_developer or "").strip(),
        target_name=(target_name or "").strip(),
        target_version=(target_version or "").strip(),
        target_access=target_access,
        tier=tier,
        created_by=actor,
    )
    references = [
        ReferenceModel(
            developer=str(m.get("developer", "")).strip(),
            name=str(m.get("name", "")).strip(),
            version=str(m.get("version", "")).strip(),
            position=i,
        )  # fmt: skip
        for i, m in enumerate(reference_models)
    ]
    try:
        exercise.full_clean(exclude=["compartment"])
        for model in references:
            model.full_clean(exclude=["exercise"])
    except ValidationError as exc:
        refuse(actor, action, target, Reason.INVALID, error=exc, details={"errors": exc.messages})
    with transaction.atomic():
        exercise.compartment = compartment_create(
            actor=actor, code=reference.lower(), name=f"Exercise {reference}", owner=lead
        )
        exercise.save(force_insert=True)
        Participant.objects.bulk_create(Participant(exercise=exercise, organisation=org) for org in organisations)
        for model in references:
            model.exercise = exercise
        ReferenceModel.objects.bulk_create(references)
        exercise.risk_domains.set(risk_domains)
        exercise.releasable_to.set(countries)
        record(
            action,
            actor=actor,
            target=exercise,
            details={
                "agreement": agreement.reference,
                "participants": sorted(org.short_name for org in organisations),
                "compartment": exercise.compartment.code,
                "tier": tier.code,
                "risk_domains": sorted(domain.code for domain in risk_domains),
            },
        )
    return exercise


def exercise_advance(*, actor, exercise: Exercise, to: str) -> Exercise:
    """Move the exercise to its next phase (the lead). It starts running only under an adopted
    protocol, so every run can say which version it followed."""
    action = Action.EXERCISE_PHASE_CHANGED
    require_lead(actor, exercise, action=action, wanted="change phase")
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = Exercise.objects.select_for_update().get(pk=exercise.pk)
        following = locked.next_phase
        if following is None or to != following:
            refusal = Reason.EXERCISE_PHASE_NOT_NEXT.because(phase=locked.phase, next=following or "nowhere")
        elif (
            following == Phase.RUNNING
            and not locked.protocol_versions.filter(status=ProtocolVersion.Status.ADOPTED).exists()
        ):
            refusal = Refusal(Reason.NO_ADOPTED_PROTOCOL)
        else:
            previous = locked.phase
            locked.phase, locked.phase_changed_at = following, timezone.now()
            locked.save(update_fields=["phase", "phase_changed_at"])
            record(action, actor=actor, target=locked, details={"from": previous, "to": following})
    if refusal:
        refuse(actor, action, exercise, refusal)
    exercise.refresh_from_db()
    return exercise


def _write_tasks(version: ProtocolVersion, tasks: list[spec.TaskSpec]) -> None:
    ProtocolTask.objects.bulk_create(
        ProtocolTask(
            version=version,
            position=position,
            task_name=task.task_name,
            task_version=task.task_version,
            dataset_name=task.dataset_name,
            sample_ids=task.sample_ids,
            sample_ids_sha256=task.sample_ids_sha256,
            scorers=task.scorers,
            metrics=task.metrics,
            epochs=task.epochs,
            temperature=task.temperature,
            max_tokens=task.max_tokens,
            seed=task.seed,
            solver=task.solver,
        )
        for position, task in enumerate(tasks)
    )


def protocol_draft(
    *, actor, exercise: Exercise, target_model: str, reference_models: Iterable[str], tasks, notes: str = ""
) -> ProtocolVersion:
    """Draft the protocol (the lead). `tasks` is the JSON form (`exercises.protocol`).

    A version nobody has signed yet is changed in place. Once anyone has signed it, or once it
    is adopted, a change is a new version with no signatures: the signed version stays as it
    was signed (superseded if it was still a draft; the adopted one stays in force until the new
    one is adopted by everyone)."""
    action = Action.PROTOCOL_DRAFTED
    require_lead(actor, exercise, action=action, wanted="draft protocol")
    if exercise.phase not in PROTOCOL_PHASES:
        refuse(actor, action, exercise, Reason.EXERCISE_PHASE_FORBIDS.because(phase=exercise.phase))
    try:
        target_model, references = spec.parse_models(target_model, reference_models)
        parsed = spec.parse_tasks(tasks)
    except ValidationError as exc:
        refuse(actor, action, exercise, Reason.INVALID, error=exc, details={"errors": exc.messages})
    content = spec.content_of(target_model, references, parsed)
    digest = spec.digest_of(content)
    refusal: Refusal | None = None
    with transaction.atomic():
        Exercise.objects.select_for_update().get(pk=exercise.pk)
        versions = ProtocolVersion.objects.filter(exercise=exercise)
        latest = versions.order_by("-number").first()
        draft = versions.filter(status=ProtocolVersion.Status.DRAFT).first()
        if latest is not None and latest.digest == digest and latest.status != ProtocolVersion.Status.SUPERSEDED:
            refusal = Refusal(Reason.PROTOCOL_UNCHANGED)
        elif draft is not None and not draft.signatures.exists():
            draft.target_model, draft.reference_models, draft.notes = target_model, references, notes
            draft.digest, draft.drafted_by, draft.drafted_at = digest, actor, timezone.now()
            draft.save(
                update_fields=["target_model", "reference_models", "notes", "digest", "drafted_by", "drafted_at"]
            )
            draft.tasks.all().delete()
            _write_tasks(draft, parsed)
            version = draft
        else:
            if draft is not None:
                draft.status = ProtocolVersion.Status.SUPERSEDED
                draft.save(update_fields=["status"])
            version = ProtocolVersion.objects.create(
                exercise=exercise,
                number=(latest.number if latest else 0) + 1,
                target_model=target_model,
                reference_models=references,
                notes=notes,
                digest=digest,
                drafted_by=actor,
            )
            _write_tasks(version, parsed)
        if refusal is None:
            details = {"version": version.number, "digest": digest, "tasks": [t.task_name for t in parsed]}
            if draft is not None and draft.pk != version.pk:
                details["superseded_signed_draft"] = draft.number
            record(action, actor=actor, target=version, details=details)
    if refusal:
        refuse(actor, action, exercise, refusal)
    return version


def protocol_sign(*, actor, version: ProtocolVersion, digest: str) -> ProtocolVersion:
    """Sign `version` for the actor's organisation (a participant's signatory), binding to the
    `digest` the signatory was shown. Adopted once every participant has signed this version;
    the version it replaces is then superseded."""
    action = Action.PROTOCOL_SIGNED
    exercise = version.exercise
    organisation = actor.organisation
    decision = can_sign(actor, exercise)
    if not decision:
        refuse(actor, action, version, decision.refusal, error=PermissionDenied)
    refusal: Refusal | None = None
    with transaction.atomic():
        Exercise.objects.select_for_update().get(pk=exercise.pk)
        locked = ProtocolVersion.objects.get(pk=version.pk)
        phase = Exercise.objects.values_list("phase", flat=True).get(pk=exercise.pk)
        if phase not in PROTOCOL_PHASES:
            refusal = Reason.EXERCISE_PHASE_FORBIDS.because(phase=phase)
        elif locked.status != ProtocolVersion.Status.DRAFT:
            refusal = Reason.PROTOCOL_VERSION_NOT_CURRENT.because(number=locked.number)
        elif digest != locked.digest:
            refusal = Refusal(Reason.PROTOCOL_VERSION_CHANGED)
        elif locked.signatures.filter(organisation=organisation).exists():
            refusal = Reason.ALREADY_SIGNED.because(organisation=str(organisation))
        else:
            now = timezone.now()
            ProtocolSignature.objects.create(
                version=locked, organisation=organisation, signed_by=actor, signed_at=now, digest=locked.digest
            )
            record(action, actor=actor, target=locked, details={"organisation": organisation.short_name,
                                                               "version": locked.number, "digest": locked.digest})  # fmt: skip
            signed = set(locked.signatures.values_list("organisation_id", flat=True))
            taking_part = set(Participant.objects.filter(exercise=exercise).values_list("organisation_id", flat=True))
            if taking_part <= signed:
                ProtocolVersion.objects.filter(exercise=exercise, status=ProtocolVersion.Status.ADOPTED).update(
                    status=ProtocolVersion.Status.SUPERSEDED
                )
                locked.status, locked.adopted_at = ProtocolVersion.Status.ADOPTED, now
                locked.save(update_fields=["status", "adopted_at"])
                record(
                    Action.PROTOCOL_ADOPTED,
                    actor=actor,
                    target=locked,
                    details={"version": locked.number, "digest": locked.digest, "signed_by_all": True},
                )
    if refusal:
        refuse(actor, action, version, refusal)
    version.refresh_from_db()
    return version


def run_create(*, actor, exercise: Exercise, version: ProtocolVersion | None, title: str = "") -> ExerciseRun:
    """Start a participant's run of the adopted protocol: a draft finding of the actor's
    organisation (an author read in), marked as the exercise is — its tier, releasability, risk
    domains and compartment — to which the run's Inspect logs are then attached through the
    document attachment path. Only while the exercise is running."""
    action = Action.EXERCISE_RUN_CREATED
    decision = can_see(actor, exercise)
    if not decision:
        refuse(actor, action, exercise, decision.refusal, error=PermissionDenied)
    if not has_role(actor, Role.AUTHOR, actor.organisation):
        refuse(actor, action, exercise, Reason.NOT_AN_AUTHOR, error=PermissionDenied)
    if exercise.phase != Phase.RUNNING:
        refuse(actor, action, exercise, Reason.EXERCISE_PHASE_FORBIDS.because(phase=exercise.phase))
    if version is None:
        refuse(actor, action, exercise, Reason.NO_ADOPTED_PROTOCOL)
    if version.exercise_id != exercise.pk or version.status != ProtocolVersion.Status.ADOPTED:
        refuse(actor, action, exercise, Reason.PROTOCOL_VERSION_NOT_CURRENT.because(number=version.number))
    organisation = actor.organisation
    title = (title or "").strip()[:300] or f"{exercise.reference} run by {organisation.short_name.upper()}"
    with transaction.atomic():
        document = document_create(
            actor=actor,
            title=title,
            summary=f"Inspect logs of {organisation.name}'s run under protocol version {version.number}.",
            tier=exercise.tier,
            releasable_to=exercise.releasable_to.all(),
            compartments=[exercise.compartment],
            risk_domains=exercise.risk_domains.all(),
            model_developer=exercise.target_developer,
            model_name=exercise.target_name,
            model_version=exercise.target_version,
        )
        run = ExerciseRun.objects.create(
            exercise=exercise,
            organisation=organisation,
            document=document,
            protocol_version=version,
            registered_by=actor,
        )
        record(
            action,
            actor=actor,
            target=exercise,
            details={"run": str(run.code), "document": str(document.code), "version": version.number},
        )
    return run
