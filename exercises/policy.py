"""Who may see a joint testing exercise, and who may act in it.

CONTRACT (stable names other modules import):
- can_see(user, exercise) -> Decision
- visible_exercises(user) -> QuerySet[Exercise]       (one SQL query, no per-row Python)
- exercise_for_member(user, code) -> Exercise          (or Http404, denial audited)
- protocol_version_for_member(user, code) -> ProtocolVersion (or Http404, denial audited)
- can_lead(user, exercise) / require_lead(...)        (the lead's steps; 403 audited)
- can_sign(user, exercise)                            (a participant's signatory)
- visible_runs(user, exercise) -> QuerySet[ExerciseRun] (runs whose finding the user may read)

Everything an exercise holds carries its compartment, so the exercise itself is the unit of
secrecy. A user SEES an exercise only when every gate passes (deny by default), decided now:
1. the account gate of sharing/policy.py (signed in, active, MFA-verified, of an organisation);
2. the user's organisation takes part in it (the lead is a participant);
3. for any participant but the lead, the agreement it runs under is in force now (active, now
   within its dates): suspending or ending the agreement stops what partners see at once;
4. the user's clearance now ranks at or above the exercise's tier;
5. the user's nationality is among the countries it is releasable to;
6. the user is read in, now, to the exercise's compartment (owned by the lead: its admins
   read people in, a participant's admin nominates its people; accounts/compartments.py).
An exercise the user may not see answers 404 exactly like one that does not exist, and every
such refusal is audited. Both faces (`can_see`, `visible_exercises`) state the same rules;
tests/exercises/test_policy_matrix.py checks them against each other on every row.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.affiliations import acting_for_host, read_ins_of
from accounts.models import ClearanceGrant, clearance_of
from accounts.roles import Role, has_role
from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse
from sharing.models import SharingAgreement
from sharing.policy import ALLOW, Decision, account_gate, deny, readable_documents

from .models import Exercise, ExerciseRun, Participant, ProtocolVersion


def _agreement_in_force(agreement: SharingAgreement, now) -> bool:
    return (
        agreement.status == SharingAgreement.Status.ACTIVE
        and agreement.effective_from <= now
        and now < agreement.expires_at
    )


def can_see(user, exercise: Exercise) -> Decision:
    """Gates 1 to 6 above, for one exercise."""
    decision = account_gate(user)
    if not decision:
        return decision
    now = timezone.now()
    organisation_id = user.organisation_id
    if not Participant.objects.filter(exercise=exercise, organisation_id=organisation_id).exists():
        return deny(Reason.NOT_AN_EXERCISE_PARTICIPANT.because(organisation=str(user.organisation)))
    if organisation_id != exercise.lead_id and not _agreement_in_force(exercise.agreement, now):
        return deny(Reason.AGREEMENT_NOT_IN_FORCE)
    tier = clearance_of(user, now)
    if tier is None or tier.rank < exercise.tier.rank:
        return deny(Reason.CLEARANCE_BELOW_TIER)
    if not exercise.releasable_to.filter(pk=user.nationality_id).exists():
        return deny(Reason.NATIONALITY_NOT_RELEASABLE)
    if not read_ins_of(user, now).filter(compartment_id=exercise.compartment_id).exists():
        return deny(Reason.NOT_READ_IN_TO.because(compartments=exercise.compartment.code.upper()))
    return ALLOW


def visible_exercises(user) -> QuerySet[Exercise]:
    """The exercises `user` may see: the same gates as `can_see`, as one SQL query."""
    if not account_gate(user):
        return Exercise.objects.none()
    now = timezone.now()
    organisation_id = user.organisation_id
    takes_part = Participant.objects.filter(exercise=OuterRef("pk"), organisation_id=organisation_id)
    in_force = Q(
        agreement__status=SharingAgreement.Status.ACTIVE,
        agreement__effective_from__lte=now,
        agreement__expires_at__gt=now,
    )
    cleared = ClearanceGrant.objects.valid_at(now).filter(user_id=user.pk, tier__rank__gte=OuterRef("tier__rank"))
    # A secondee acting for the host: the host's grant caps the clearance (as `clearance_of`
    # does), and only the host's own compartments' read-ins count (`read_ins_of`).
    acting = acting_for_host(user)
    capped = Q()
    if acting is not None:
        if now >= acting.ends_at:
            return Exercise.objects.none()
        capped = Q(tier__rank__lte=acting.clearance.rank)
    releasable = Exercise.releasable_to.through.objects.filter(exercise=OuterRef("pk"), country_id=user.nationality_id)
    read_in = read_ins_of(user, now).filter(compartment_id=OuterRef("compartment_id"))
    return Exercise.objects.filter(
        capped,
        Exists(takes_part),
        Q(lead_id=organisation_id) | in_force,
        Exists(cleared),
        Exists(releasable),
        Exists(read_in),
    )


def visible_exercise_codes(user, codes) -> QuerySet:
    """Of `codes`, the exercises `user` may see (the audit viewer's question)."""
    return visible_exercises(user).filter(code__in=list(codes)).values_list("code", flat=True)


def visible_protocol_version_codes(user, codes) -> QuerySet:
    versions = ProtocolVersion.objects.filter(exercise__in=visible_exercises(user), code__in=list(codes))
    return versions.values_list("code", flat=True)


def _parse_code(code) -> uuid.UUID | None:
    try:
        return code if isinstance(code, uuid.UUID) else uuid.UUID(str(code))
    except (TypeError, ValueError, AttributeError):
        return None


def _loaded(queryset: QuerySet[Exercise]) -> QuerySet[Exercise]:
    return queryset.select_related("agreement", "lead", "tier", "compartment")


def exercise_for_member(user, code, *, wanted: str = "read exercise") -> Exercise:
    """The exercise if `user` may see it; 404 (audited) when missing or forbidden alike."""
    parsed = _parse_code(code)
    exercise = _loaded(Exercise.objects.filter(code=parsed)).first() if parsed else None
    decision = can_see(user, exercise) if exercise else deny(Reason.NO_SUCH_EXERCISE)
    if not decision:
        refuse(
            user,
            Action.ACCESS_DENIED,
            exercise or ("exercises.exercise", str(code)[:64], ""),
            decision.refusal,
            error=Http404("No such exercise."),
            details={"wanted": wanted},
        )
    return exercise


def protocol_version_for_member(user, code, *, wanted: str = "read protocol") -> ProtocolVersion:
    """The protocol version if `user` may see its exercise; 404 (audited) otherwise, the same
    for a version that does not exist."""
    parsed = _parse_code(code)
    version = (
        ProtocolVersion.objects.select_related("exercise__agreement", "exercise__tier", "exercise__compartment")
        .filter(code=parsed)
        .first()
        if parsed
        else None
    )
    decision = can_see(user, version.exercise) if version else deny(Reason.NO_SUCH_PROTOCOL_VERSION)
    if not decision:
        refuse(
            user,
            Action.ACCESS_DENIED,
            version or ("exercises.protocolversion", str(code)[:64], ""),
            decision.refusal,
            error=Http404("No such protocol version."),
            details={"wanted": wanted},
        )
    return version


def can_lead(user, exercise: Exercise) -> Decision:
    """The lead's steps (phases, drafting the protocol): an author or admin of the lead
    organisation who sees the exercise."""
    seen = can_see(user, exercise)
    if not seen:
        return seen
    if user.organisation_id != exercise.lead_id:
        return deny(Reason.NOT_THE_EXERCISE_LEAD)
    if not (has_role(user, Role.AUTHOR, exercise.lead) or has_role(user, Role.ORG_ADMIN, exercise.lead)):
        return deny(Reason.NOT_THE_EXERCISE_LEAD)
    return ALLOW


def require_lead(user, exercise: Exercise, *, action: str, wanted: str) -> None:
    """403 (audited) unless `user` may take the lead's steps."""
    decision = can_lead(user, exercise)
    if not decision:
        refuse(user, action, exercise, decision.refusal, error=PermissionDenied, details={"wanted": wanted})


def can_sign(user, exercise: Exercise) -> Decision:
    """A signatory of a participating organisation who sees the exercise."""
    seen = can_see(user, exercise)
    if not seen:
        return seen
    organisation = user.organisation
    if organisation is None or not has_role(user, Role.SIGNATORY, organisation):
        return deny(Reason.NOT_A_SIGNATORY)
    if not Participant.objects.filter(exercise=exercise, organisation=organisation).exists():
        return deny(Reason.NOT_AN_EXERCISE_PARTICIPANT.because(organisation=str(organisation)))
    return ALLOW


def visible_runs(user, exercise: Exercise) -> QuerySet[ExerciseRun]:
    """The runs of an exercise (which the caller has let `user` see) whose finding `user` may
    read: a run is its organisation's finding, and a partner sees it as it sees any document
    (released to its organisation under the agreement), never by taking part alone."""
    return ExerciseRun.objects.filter(exercise=exercise, document__in=readable_documents(user))
