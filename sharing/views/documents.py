"""Document pages: the list with filters and search, the detail page, authoring and publishing."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Role, has_role, require_role
from audit.models import Action
from audit.services import record
from sharing.forms import DocumentFilterForm, DocumentForm, WithdrawForm
from sharing.markdown import render_markdown
from sharing.models import Document, MarkingProposal, Release
from sharing.panels import render_document_panels
from sharing.policy import (
    attachments_read,
    document_for_editor,
    document_for_reader,
    may_see_access_history,
    readable_documents,
    show_released_rows,
)
from sharing.selectors import evaluated_models, filter_documents, revision_history, with_marking
from sharing.services import documents as services
from sharing.services.listings import documents_listed
from sharing.services.markings import proposal_changes
from sharing.services.release_updates import awaiting_update

from ..menus import evaluated_models_for
from ..pagination import PeekPage
from .banners import banner_for, mark_for, viewer_country

PAGE_SIZE = 25
# The form fields shown under "The finding"; the rest make up the marking picker.
CONTENT_FIELDS = ("title", "summary", "body", "model_developer", "model_name", "model_version", "risk_domains")


@require_GET
@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    readable = readable_documents(request.user)
    user = request.user
    # A partner's menu names the models of the revisions released to it, never the latest.
    menu = partial(evaluated_models, reader=user)
    return document_list_page(request, readable, lambda: evaluated_models_for(user, readable, menu))


def document_list_page(request: HttpRequest, readable: QuerySet[Document], models: Callable[[], list]) -> HttpResponse:
    """The list page over `readable`, with the filter menu `models()` gives. The benchmark's
    bare baseline (bench/load_urls.py) renders this same page over every document, with a menu
    cached for everyone, so the two differ only in the access policy."""
    user = request.user
    form = DocumentFilterForm(request.GET or None, country=viewer_country(user))
    form.fields["model_name"].widget.attrs["list"] = "known-models"
    form.fields["tier"].empty_label = "Any tier"
    form.fields["originator"].empty_label = "Any organisation"
    documents = readable
    if form.is_valid():
        documents = filter_documents(readable, reader=user, **form.cleaned_data)
    if not (form.is_bound and form.is_valid() and form.cleaned_data.get("text")):
        documents = documents.order_by("-created_at", "-pk")
    page = PeekPage(with_marking(documents), request.GET.get("page"), PAGE_SIZE)
    documents_listed(actor=user, documents=page.object_list, page="documents", searched=bool(request.GET.get("text")))
    query = request.GET.copy()
    query.pop("page", None)
    shown = show_released_rows(user, page.object_list)  # a partner's rows as released to them
    context = {
        "form": form,
        "page": page,
        "rows": [(document, mark_for(document, user)) for document in shown],
        "models": models(),
        "query": query.urlencode(),
        "banner": banner_for(shown, user),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
    }
    return render(request, "sharing/documents/list.html", context)


@require_GET
@login_required
def document_detail(request: HttpRequest, code) -> HttpResponse:
    document = document_for_reader(request.user, code)
    record(Action.DOCUMENT_VIEWED, actor=request.user, target=document, details={"revision": document.revision})
    return document_page(request, document)


def document_page(request: HttpRequest, document: Document) -> HttpResponse:
    """The page of a document the reader has passed the gate for. The benchmark's bare baseline
    renders it with no gate and no audit event, so the two differ only in those."""
    user = request.user
    is_originator = user.organisation_id == document.originator_id
    releases = Release.objects.filter(document=document).select_related("recipient", "agreement")
    releases = releases.prefetch_related("audience")
    if not is_originator:
        # A partner sees only its own organisation's releases, not who else the document went to.
        releases = releases.filter(recipient_id=user.organisation_id)
    else:
        # The originator's side only: a partner learns nothing of revisions newer than its own.
        pending = set(awaiting_update(releases).values_list("pk", flat=True))
        releases = list(releases)
        for release in releases:
            release.update_pending = release.pk in pending
    attachments = list(attachments_read(document))
    context = {
        "document": document,
        "mark": mark_for(document, user),
        "banner": banner_for([document], user),
        "body_html": render_markdown(document.body),
        "attachments": attachments,
        "panels": render_document_panels(request, document, attachments),
        "history": revision_history(document) if is_originator else [],
        "country": viewer_country(user),
        "releases": releases,
        "is_originator": is_originator,
        # Only the originator's own people can be its admins: partners cost no query here.
        "may_see_access": is_originator and may_see_access_history(user, document),
        # can_edit is "may read, of the originator, an author": the page is reached only past
        # the read gate, so the button asks the rest without deciding the read again.
        "may_edit": is_originator and has_role(user, Role.AUTHOR, document.originator),
        "withdraw_form": WithdrawForm(),
        "proposal": _waiting_marking(user, document) if is_originator else None,
    }
    return render(request, "sharing/documents/detail.html", context)


def _waiting_marking(user, document: Document) -> dict | None:
    """The lower marking waiting for a second person, for the originator's people only."""
    proposal = (
        MarkingProposal.objects.filter(document=document, status=MarkingProposal.Status.PENDING)
        .select_related("proposed_by")
        .first()
    )
    if proposal is None:
        return None
    return {
        "proposal": proposal,
        "changes": proposal_changes(proposal, viewer_country(user)),
        "may_decide": proposal.proposed_by_id != user.pk and has_role(user, Role.RELEASE_OFFICER, document.originator),
    }


@require_http_methods(["GET", "POST"])
@login_required
def document_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    require_role(user, Role.AUTHOR, user.organisation, wanted="create")
    form = DocumentForm(request.POST or None, author=user)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_create(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Draft saved. Add attachments, then publish when it is ready.")
            return redirect("sharing:document_detail", code=document.code)
    return render(request, "sharing/documents/form.html", {"form": form, "content_fields": CONTENT_FIELDS})


@require_http_methods(["GET", "POST"])
@login_required
def document_edit(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    document = document_for_editor(user, code)
    form = DocumentForm(request.POST or None, author=user, document=document)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_update(actor=user, document=document, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if getattr(document, "marking_proposal", None) is not None:
                messages.success(
                    request,
                    "Changes saved. The lower marking waits for another release officer of your organisation.",
                )
            else:
                messages.success(request, "Changes saved as a new revision.")
            return redirect("sharing:document_detail", code=document.code)
    context = {
        "form": form,
        "document": document,
        "banner": banner_for([document], user),
        "content_fields": CONTENT_FIELDS,
    }
    return render(request, "sharing/documents/form.html", context)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@require_POST
@login_required
def document_publish(request: HttpRequest, code) -> HttpResponse:
    document = document_for_editor(request.user, code)
    try:
        services.document_publish(actor=request.user, document=document)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Published. You can now request its release to partners.")
    return redirect("sharing:document_detail", code=document.code)


@require_POST
@login_required
def document_withdraw(request: HttpRequest, code) -> HttpResponse:
    document = document_for_editor(request.user, code)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you are withdrawing it (at most 300 characters).")
        return redirect("sharing:document_detail", code=document.code)
    try:
        services.document_withdraw(actor=request.user, document=document, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Withdrawn. Partners can no longer read it.")
    return redirect("sharing:document_detail", code=document.code)


@require_GET
@login_required
def document_attachments(request: HttpRequest, code) -> HttpResponse:
    """The upload page: files go, one request each, to the attachment upload endpoint."""
    user = request.user
    document = document_for_editor(user, code)
    context = {
        "document": document,
        "banner": banner_for([document], user),
        "attachments": attachments_read(document),
        "max_bytes": settings.ACCORD_ATTACHMENT_MAX_BYTES,
    }
    return render(request, "sharing/documents/attachments.html", context)
