"""Agreement pages: list, detail, and the signature and life-cycle steps."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.models import Action
from audit.services import record_denial
from sharing.models import AgreementParty, Release, SharingAgreement
from sharing.policy import readable_documents
from sharing.services import agreements as services

from .banners import MARKING_PREFETCH, banner_for, mark_for


def _visible_agreements(user):
    """Portal admins see every agreement; everyone else those their organisation is party to."""
    if user.is_staff:
        return SharingAgreement.objects.all()
    if user.organisation_id is None:
        return SharingAgreement.objects.none()
    return SharingAgreement.objects.filter(party_rows__organisation_id=user.organisation_id)


def agreement_for_party(user, code) -> SharingAgreement:
    """The agreement if the user's organisation is party to it (or they are a portal admin);
    404, audited, for missing and foreign alike."""
    agreement = _visible_agreements(user).select_related("tier_ceiling").filter(code=code).first()
    if agreement is None:
        record_denial(
            Action.ACCESS_DENIED,
            actor=user,
            target=("sharing.sharingagreement", code, ""),
            details={"reason": "not a party", "wanted": "read agreement"},
        )
        raise Http404("No such agreement.")
    return agreement


@require_GET
@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    agreements = (
        _visible_agreements(request.user)
        .select_related("tier_ceiling")
        .prefetch_related("party_rows__organisation")
        .order_by("-effective_from")
    )
    return render(request, "sharing/agreements/list.html", {"agreements": agreements})


@require_GET
@login_required
def agreement_detail(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    agreement = agreement_for_party(user, code)
    parties = AgreementParty.objects.filter(agreement=agreement).select_related("organisation", "signed_by")
    releases = (
        Release.objects.filter(agreement=agreement, document__in=readable_documents(user))
        .filter(Q(document__originator_id=user.organisation_id) | Q(recipient_id=user.organisation_id))
        .select_related("document__tier", "document__originator", "recipient")
        .prefetch_related(*(f"document__{name}" for name in MARKING_PREFETCH))
        .order_by("-requested_at")
    )
    documents = [release.document for release in releases]
    own_party = next((p for p in parties if p.organisation_id == user.organisation_id), None)
    may_sign = (
        own_party is not None
        and own_party.signed_at is None
        and agreement.status == SharingAgreement.Status.DRAFT
        and user.has_perm("accounts.sign_agreement", user.organisation)
    )
    may_manage = user.is_staff
    context = {
        "agreement": agreement,
        "parties": parties,
        "releases": [(release, mark_for(release.document, user)) for release in releases],
        "banner": banner_for(documents, user),
        "risk_domains": agreement.risk_domains.all(),
        "may_sign": may_sign,
        "may_manage": may_manage,
        "reason_form": ReasonForm(),
    }
    return render(request, "sharing/agreements/detail.html", context)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


def _step(request: HttpRequest, code, service_name: str, done: str) -> HttpResponse:
    """Suspend, resume or terminate: portal admins only, with a reason for the record."""
    user = request.user
    agreement = agreement_for_party(user, code)
    if not user.is_staff:
        record_denial(
            Action.ACCESS_DENIED,
            actor=user,
            target=agreement,
            details={"reason": "not a portal admin", "wanted": service_name},
        )
        raise PermissionDenied("portal admins only")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason of at most 1000 characters.")
        return redirect("sharing:agreement_detail", code=agreement.code)
    try:
        getattr(services, service_name)(actor=user, agreement=agreement, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("sharing:agreement_detail", code=agreement.code)


@require_POST
@login_required
def agreement_sign(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    agreement = agreement_for_party(user, code)
    if user.organisation is None or not user.has_perm("accounts.sign_agreement", user.organisation):
        record_denial(
            Action.ACCESS_DENIED, actor=user, target=agreement, details={"reason": "not a signatory", "wanted": "sign"}
        )
        raise PermissionDenied("signatory role needed")
    try:
        services.agreement_sign(actor=user, agreement=agreement, organisation=user.organisation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "You signed the agreement for your organisation.")
    return redirect("sharing:agreement_detail", code=agreement.code)


@require_POST
@login_required
def agreement_suspend(request: HttpRequest, code) -> HttpResponse:
    return _step(request, code, "agreement_suspend", "The agreement is suspended: nothing is shared under it now.")


@require_POST
@login_required
def agreement_resume(request: HttpRequest, code) -> HttpResponse:
    return _step(request, code, "agreement_resume", "The agreement is active again.")


@require_POST
@login_required
def agreement_terminate(request: HttpRequest, code) -> HttpResponse:
    return _step(request, code, "agreement_terminate", "The agreement is terminated.")
