"""Agreement (MoU) lifecycle: draft → active once every party signed → suspended / terminated / expired.

Suspension and termination stop access at once: each change of status rewrites the kept
visibility of the agreement's documents in its own transaction (`sharing.visibility`), and the
read condition compares the agreement's dates, kept there, to now. The final states also end
the releases made under it, so their guardian rows go too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, Tier
from accounts.roles import Role, has_role, is_portal_admin
from audit.models import Action
from audit.reasons import Reason, Refusal
from audit.services import record, refuse

from ..models import AgreementParty, Attachment, RiskDomain, SharingAgreement
from ..visibility import keep_under
from .releases import end_releases_under

Status = SharingAgreement.Status


def _require_portal_admin(action: str, actor, target) -> None:
    if not is_portal_admin(actor):
        refuse(actor, action, target, Reason.ONLY_PORTAL_ADMIN, error=PermissionDenied)


def agreement_create(
    *,
    actor,
    reference: str,
    title: str,
    parties: Iterable[Organisation],
    effective_from: datetime,
    expires_at: datetime,
    tier_ceiling: Tier,
    risk_domains: Iterable[RiskDomain],
    onward_sharing: bool = False,
    personnel_exchanges: bool = False,
    seconded_staff_read_partner_material: bool = False,
    retention_days: int = 365 * 5,
    mou: Attachment | None = None,
) -> SharingAgreement:
    """Draft an agreement between two or more organisations. Portal admins only."""
    target = ("sharing.sharingagreement", "", reference)
    _require_portal_admin(Action.AGREEMENT_CREATED, actor, target)
    parties = list({org.pk: org for org in parties}.values())
    risk_domains = list(risk_domains)
    if len(parties) < 2:
        refuse(actor, Action.AGREEMENT_CREATED, target, Reason.TOO_FEW_PARTIES)
    if not risk_domains:
        refuse(actor, Action.AGREEMENT_CREATED, target, Reason.NO_RISK_DOMAIN)
    agreement = SharingAgreement(
        reference=reference,
        title=title,
        effective_from=effective_from,
        expires_at=expires_at,
        tier_ceiling=tier_ceiling,
        onward_sharing=onward_sharing,
        personnel_exchanges=personnel_exchanges,
        seconded_staff_read_partner_material=seconded_staff_read_partner_material,
        retention_days=retention_days,
        mou=mou,
        created_by=actor,
    )
    try:
        agreement.full_clean()
        if expires_at <= effective_from:
            raise ValidationError({"expires_at": "The agreement must expire after it takes effect."})
    except ValidationError as exc:
        refuse(actor, Action.AGREEMENT_CREATED, target, Reason.INVALID, error=exc, details={"errors": exc.messages})
    with transaction.atomic():
        agreement.save()
        AgreementParty.objects.bulk_create([AgreementParty(agreement=agreement, organisation=org) for org in parties])
        agreement.risk_domains.set(risk_domains)
        record(
            Action.AGREEMENT_CREATED,
            actor=actor,
            target=agreement,
            details={
                "parties": sorted(org.short_name for org in parties),
                "tier_ceiling": tier_ceiling.code,
                "risk_domains": sorted(rd.code for rd in risk_domains),
                "effective_from": effective_from.isoformat(),
                "expires_at": expires_at.isoformat(),
                "onward_sharing": onward_sharing,
                "personnel_exchanges": personnel_exchanges,
                "seconded_staff_read_partner_material": seconded_staff_read_partner_material,
            },
        )
    return agreement


def agreement_sign(*, actor, agreement: SharingAgreement, organisation: Organisation) -> SharingAgreement:
    """Sign for `organisation` (the actor holds its sign_agreement role). Active once all have signed."""
    action = Action.AGREEMENT_SIGNED
    if not has_role(actor, Role.SIGNATORY, organisation):
        refusal = Reason.NOT_A_SIGNATORY_OF.because(organisation=str(organisation))
        refuse(actor, action, agreement, refusal, error=PermissionDenied)
    # Refusals are raised after the transaction closes, so the audited denial is not rolled back.
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = SharingAgreement.objects.select_for_update().get(pk=agreement.pk)
        party = AgreementParty.objects.filter(agreement=locked, organisation=organisation).first()
        now = timezone.now()
        if party is None:
            refusal = Reason.ORGANISATION_NOT_A_PARTY.because(organisation=str(organisation))
        elif locked.status != Status.DRAFT:
            refusal = Reason.AGREEMENT_NOT_DRAFT.because(status=locked.status)
        elif party.signed_at is not None:
            refusal = Reason.ALREADY_SIGNED.because(organisation=str(organisation))
        elif now >= locked.expires_at:
            refusal = Refusal(Reason.AGREEMENT_IS_PAST_EXPIRY)
        else:
            party.signed_by, party.signed_at = actor, now
            party.save(update_fields=["signed_by", "signed_at"])
            record(action, actor=actor, target=locked, details={"organisation": organisation.short_name})
            if not AgreementParty.objects.filter(agreement=locked, signed_at__isnull=True).exists():
                locked.status, locked.activated_at = Status.ACTIVE, now
                locked.save(update_fields=["status", "activated_at"])
                keep_under(locked)
                record(Action.AGREEMENT_ACTIVATED, actor=actor, target=locked, details={"signed_by_all": True})
    if refusal:
        refuse(actor, action, agreement, refusal)
    agreement.refresh_from_db()
    return agreement


def _transition(
    *, actor, agreement: SharingAgreement, action: str, allowed_from: set[str], to: str, reason: str, stamp: str | None
) -> SharingAgreement:
    _require_portal_admin(action, actor, agreement)
    refusal: Refusal | None = None
    with transaction.atomic():
        locked = SharingAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status not in allowed_from:
            refusal = Reason.AGREEMENT_STATUS_FORBIDS.because(status=locked.status)
        elif to == Status.ACTIVE and timezone.now() >= locked.expires_at:
            refusal = Refusal(Reason.AGREEMENT_IS_PAST_EXPIRY)
        else:
            previous = locked.status
            locked.status = to
            fields = ["status"]
            if stamp:
                setattr(locked, stamp, timezone.now())
                fields.append(stamp)
            locked.save(update_fields=fields)
            ended = end_releases_under(locked, why=to) if to == Status.TERMINATED else 0
            keep_under(locked)
            record(
                action,
                actor=actor,
                target=locked,
                details={"from": previous, "reason": reason, "releases_ended": ended},
            )
    if refusal:
        refuse(actor, action, agreement, refusal)
    agreement.refresh_from_db()
    return agreement


def agreement_suspend(*, actor, agreement: SharingAgreement, reason: str) -> SharingAgreement:
    """Stop all access under an active agreement until it is resumed. Portal admins only."""
    return _transition(
        actor=actor,
        agreement=agreement,
        action=Action.AGREEMENT_SUSPENDED,
        allowed_from={Status.ACTIVE},
        to=Status.SUSPENDED,
        reason=reason,
        stamp="suspended_at",
    )


def agreement_resume(*, actor, agreement: SharingAgreement, reason: str = "") -> SharingAgreement:
    """Put a suspended agreement back in force (its releases and grants were kept). Portal admins only."""
    return _transition(
        actor=actor,
        agreement=agreement,
        action=Action.AGREEMENT_RESUMED,
        allowed_from={Status.SUSPENDED},
        to=Status.ACTIVE,
        reason=reason,
        stamp=None,
    )


def agreement_terminate(*, actor, agreement: SharingAgreement, reason: str) -> SharingAgreement:
    """End an agreement for good; its releases end and their grants are removed. Portal admins only."""
    return _transition(
        actor=actor,
        agreement=agreement,
        action=Action.AGREEMENT_TERMINATED,
        allowed_from={Status.DRAFT, Status.ACTIVE, Status.SUSPENDED},
        to=Status.TERMINATED,
        reason=reason,
        stamp="terminated_at",
    )


def agreement_expire(*, agreement: SharingAgreement, now: datetime | None = None) -> bool:
    """Mark an agreement past its date as expired and end its releases. Idempotent; the system acts.

    Access already ended at expires_at (the policy compares dates); this records it and tidies up.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = SharingAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.expires_at > now or locked.status in {Status.EXPIRED, Status.TERMINATED}:
            return False
        previous = locked.status
        locked.status = Status.EXPIRED
        locked.save(update_fields=["status"])
        ended = end_releases_under(locked, why=Status.EXPIRED)
        keep_under(locked)
        record(
            Action.AGREEMENT_EXPIRED,
            target=locked,
            details={"from": previous, "expires_at": locked.expires_at.isoformat(), "releases_ended": ended},
        )
    return True
