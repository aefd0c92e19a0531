"""Which releases and agreements a user may see through the API, and the gates that fetch one.

The policy module answers for documents and attachments; these two build on it and follow the
portal's pages: a release is seen by whoever may read its document and belongs to either the
originator or the recipient (a partner never learns who else a document went to); an agreement
by members of its parties and by portal admins. Missing and forbidden answer the same 404, and
every refusal is audited.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from audit.models import Action
from audit.services import record_denial
from sharing.models import Release, SharingAgreement
from sharing.policy import readable_documents


def visible_releases(user) -> QuerySet[Release]:
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return Release.objects.none()
    org = user.organisation_id
    return Release.objects.filter(
        Q(document__originator_id=org) | Q(recipient_id=org),
        document__in=readable_documents(user),
    )


def release_for_user(user, code) -> Release:
    release = (
        visible_releases(user)
        .select_related("document__originator", "document__tier", "agreement", "recipient", "requested_by")
        .filter(code=code)
        .first()
    )
    if release is None:
        record_denial(
            Action.ACCESS_DENIED,
            actor=user,
            target=Release.objects.filter(code=code).first() or ("sharing.release", str(code), ""),
            details={"reason": "no such release or not visible", "wanted": "read release"},
        )
        raise Http404("No such release.")
    return release


def visible_agreements(user) -> QuerySet[SharingAgreement]:
    if not getattr(user, "is_authenticated", False):
        return SharingAgreement.objects.none()
    if user.is_staff:
        return SharingAgreement.objects.all()
    if user.organisation_id is None:
        return SharingAgreement.objects.none()
    return SharingAgreement.objects.filter(party_rows__organisation_id=user.organisation_id)


def agreement_for_party(user, code) -> SharingAgreement:
    agreement = visible_agreements(user).filter(code=code).first()
    if agreement is None:
        record_denial(
            Action.ACCESS_DENIED,
            actor=user,
            target=SharingAgreement.objects.filter(code=code).first() or ("sharing.sharingagreement", str(code), ""),
            details={"reason": "not a party", "wanted": "read agreement"},
        )
        raise Http404("No such agreement.")
    return agreement
