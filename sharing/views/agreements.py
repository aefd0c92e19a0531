"""Agreement pages: list, detail, drafting (with the signed MoU), the MoU download, and the signature and life-cycle steps."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Role, has_role, is_portal_admin, require_role
from audit.models import Action
from audit.reasons import Reason
from audit.services import record_denial, refuse
from sharing.forms import AgreementForm
from sharing.models import AgreementParty, SharingAgreement
from sharing.mou import key_holder, mou_attachment_create, provisional_key_holder, reseal
from sharing.policy import (
    agreement_for_party,
    can_download,
    mou_for_party,
    show_released_rows,
    visible_agreements,
    visible_releases,
)
from sharing.services import agreements as services
from vault.attachments import StorageUnavailable
from vault.uploads import EncryptingUploadHandler

from .attachments import attachment_response
from .banners import MARKING_PREFETCH, banner_for, mark_for
from .errors import storage_unavailable


@require_GET
@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    agreements = (
        visible_agreements(request.user)
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
        visible_releases(user)
        .filter(agreement=agreement)
        .select_related("document__tier", "document__originator", "recipient")
        .prefetch_related(*(f"document__{name}" for name in MARKING_PREFETCH))
        .order_by("-requested_at")
    )
    # A partner's rows read as the revision released to it: a newer title is not theirs yet.
    documents = show_released_rows(user, [release.document for release in releases])
    own_party = next((p for p in parties if p.organisation_id == user.organisation_id), None)
    may_sign = (
        own_party is not None
        and own_party.signed_at is None
        and agreement.status == SharingAgreement.Status.DRAFT
        and has_role(user, Role.SIGNATORY, user.organisation)
    )
    may_manage = is_portal_admin(user)
    mou = agreement.mou
    context = {
        "mou": mou,
        "may_download_mou": bool(mou and can_download(user, mou)),
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


@require_GET
@login_required
@never_cache
def agreement_mou(request: HttpRequest, code) -> HttpResponse:
    """The signed MoU, decrypted as it streams: parties and portal admins, 404 otherwise."""
    return attachment_response(request, mou_for_party(request.user, code))


def _refuse_non_staff(user) -> None:
    if not is_portal_admin(user):
        target = ("sharing.sharingagreement", "", "")
        error = PermissionDenied("portal admins only")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            Reason.NOT_A_PORTAL_ADMIN,
            error=error,
            details={"wanted": "draft agreement"},
        )


@csrf_exempt  # CSRF is checked in _create, after the encrypting handler is in place
@require_http_methods(["GET", "POST"])
@login_required
def agreement_create(request: HttpRequest) -> HttpResponse:
    """Draft an agreement (portal admins). The optional MoU is encrypted as the body is read."""
    user = request.user
    _refuse_non_staff(user)
    if request.method == "GET":
        return _create_page(request, AgreementForm())
    holder = provisional_key_holder(user)
    # Only the encrypting handler ever sees file bytes; with no organisation to seal under
    # (none is active, so no agreement can be drafted anyway) file parts are dropped unread.
    handler = EncryptingUploadHandler(request, org_id=holder, field_name="mou") if holder else None
    request.upload_handlers = [handler] if handler else []
    try:
        return _create(request, handler)
    except StorageUnavailable:
        record_denial(Action.AGREEMENT_CREATED, actor=user, details={"reason": Reason.STORAGE_UNAVAILABLE.value})
        return storage_unavailable()
    finally:
        if handler:
            handler.discard_unclaimed()


def _create_page(request: HttpRequest, form: AgreementForm, status: int = 200) -> HttpResponse:
    return render(request, "sharing/agreements/form.html", {"form": form}, status=status)


@csrf_protect
def _create(request: HttpRequest, handler: EncryptingUploadHandler | None) -> HttpResponse:
    user = request.user
    form = AgreementForm(request.POST)  # the file is in the handler, sealed, never in the form
    valid = form.is_valid()
    if handler and handler.too_large:
        form.add_error("mou", str(handler.too_large))
        valid = False
    if valid:
        data = {name: value for name, value in form.cleaned_data.items() if name != "mou"}
        try:
            sealed = handler.sealed if handler else None
            if sealed is not None:
                sealed = handler.sealed = reseal(sealed, org_id=key_holder(user, data["parties"]).pk)
            with transaction.atomic():
                mou = mou_attachment_create(actor=user, sealed=sealed) if sealed else None
                agreement = services.agreement_create(actor=user, mou=mou, **data)
        except ValidationError as exc:  # the service refused and audited it; nothing was written
            _add_service_errors(form, exc)
        else:
            if handler:
                handler.claimed = True
            messages.success(request, "The agreement is drafted. It becomes active once every party has signed.")
            return redirect("sharing:agreement_detail", code=agreement.code)
    else:
        record_denial(
            Action.AGREEMENT_CREATED,
            actor=user,
            target=("sharing.sharingagreement", "", request.POST.get("reference", "")[:60]),
            details={"errors": form.errors.get_json_data()},
        )
    return _create_page(request, form, status=400)


def _add_service_errors(form: AgreementForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


def _step(request: HttpRequest, code, service_name: str, done: str) -> HttpResponse:
    """Suspend, resume or terminate: portal admins only, with a reason for the record."""
    user = request.user
    agreement = agreement_for_party(user, code)
    if not is_portal_admin(user):
        error = PermissionDenied("portal admins only")
        refuse(
            user,
            Action.ACCESS_DENIED,
            agreement,
            Reason.NOT_A_PORTAL_ADMIN,
            error=error,
            details={"wanted": service_name},
        )
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
    require_role(user, Role.SIGNATORY, user.organisation, target=agreement, wanted="sign")
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
