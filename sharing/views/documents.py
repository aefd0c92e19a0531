"""Document pages: the list with filters and search, the detail page, authoring and publishing."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Organisation, Tier
from audit.models import Action
from audit.services import record, record_denial
from sharing.models import Attachment, Document, DocumentRevision, Release, RiskDomain
from sharing.policy import can_edit, document_for_editor, document_for_reader, readable_documents

from .banners import MARKING_PREFETCH, MARKING_SELECT, banner_for, mark_for

PAGE_SIZE = 25
# The form fields shown under "The finding"; the rest make up the marking picker.
CONTENT_FIELDS = ("title", "summary", "body", "model_developer", "model_name", "model_version", "risk_domains")


class DocumentFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200, help_text="Words in the title, summary or body")
    tier = forms.ModelChoiceField(
        label="Tier", queryset=Tier.objects.all(), to_field_name="code", required=False, empty_label="Any tier"
    )
    risk_domain = forms.ModelChoiceField(
        label="Risk domain", queryset=RiskDomain.objects.all(), to_field_name="code", required=False, empty_label="Any"
    )
    model = forms.CharField(label="Evaluated model", required=False, max_length=120)
    originator = forms.ModelChoiceField(
        label="Originator",
        queryset=Organisation.objects.filter(is_active=True),
        to_field_name="short_name",
        required=False,
        empty_label="Any organisation",
    )
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *Document.Status.choices], required=False)
    since = forms.DateField(
        label="Published on or after", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _filtered(documents, data: dict):
    if data.get("q"):
        for word in data["q"].split()[:8]:
            documents = documents.filter(
                Q(title__icontains=word) | Q(summary__icontains=word) | Q(body__icontains=word)
            )
    if data.get("tier"):
        documents = documents.filter(tier=data["tier"])
    if data.get("risk_domain"):
        documents = documents.filter(risk_domains=data["risk_domain"])
    if data.get("model"):
        documents = documents.filter(model_name__icontains=data["model"])
    if data.get("originator"):
        documents = documents.filter(originator=data["originator"])
    if data.get("status"):
        documents = documents.filter(status=data["status"])
    if data.get("since"):
        documents = documents.filter(published_at__date__gte=data["since"])
    return documents


@require_GET
@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    form = DocumentFilterForm(request.GET or None)
    documents = readable_documents(request.user)
    if form.is_valid():
        documents = _filtered(documents, form.cleaned_data)
    documents = (
        documents.select_related(*MARKING_SELECT).prefetch_related(*MARKING_PREFETCH).order_by("-created_at", "-pk")
    )
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(document, mark_for(document, request.user)) for document in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "banner": banner_for(page.object_list, request.user),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
    }
    return render(request, "sharing/documents/list.html", context)


@require_GET
@login_required
def document_detail(request: HttpRequest, code) -> HttpResponse:
    document = document_for_reader(request.user, code)
    record(Action.DOCUMENT_VIEWED, actor=request.user, target=document)
    user = request.user
    is_originator = user.organisation_id == document.originator_id
    releases = Release.objects.filter(document=document).select_related("recipient", "agreement")
    if not is_originator:
        # A partner sees only its own organisation's releases, not who else the document went to.
        releases = releases.filter(recipient_id=user.organisation_id)
    context = {
        "document": document,
        "mark": mark_for(document, user),
        "banner": banner_for([document], user),
        "body_html": _render_body(document.body),
        "attachments": Attachment.objects.filter(document=document, destroyed_at__isnull=True),
        "revisions": DocumentRevision.objects.filter(document=document).select_related("author"),
        "releases": releases,
        "is_originator": is_originator,
        "may_edit": bool(can_edit(user, document)),
    }
    return render(request, "sharing/documents/detail.html", context)


def _render_body(body: str) -> str:
    from django.utils.html import linebreaks

    try:
        from sharing.markdown import render as render_markdown
    except ImportError:
        return linebreaks(body, autoescape=True)
    return render_markdown(body)


def _may_author(user) -> bool:
    return user.organisation is not None and user.has_perm("accounts.author_document", user.organisation)


@require_http_methods(["GET", "POST"])
@login_required
def document_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _may_author(user):
        record_denial(Action.ACCESS_DENIED, actor=user, details={"reason": "not an author", "wanted": "create"})
        raise PermissionDenied("author role needed")
    from sharing.forms import DocumentForm
    from sharing.services.documents import document_create as create

    form = DocumentForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            document = create(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Draft saved. Add attachments, then publish when it is ready.")
            return redirect("sharing:document_detail", code=document.code)
    return render(
        request, "sharing/documents/form.html", {"form": form, "document": None, "content_fields": CONTENT_FIELDS}
    )


@require_http_methods(["GET", "POST"])
@login_required
def document_edit(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    document = document_for_editor(user, code)
    from sharing.forms import DocumentForm
    from sharing.services.documents import document_update as update

    form = DocumentForm(request.POST or None, instance=document, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            update(actor=user, document=document, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
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


def _lifecycle(request: HttpRequest, code, service_name: str, done: str) -> HttpResponse:
    document = document_for_editor(request.user, code)
    from sharing.services import documents as services

    try:
        getattr(services, service_name)(actor=request.user, document=document)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("sharing:document_detail", code=document.code)


@require_POST
@login_required
def document_publish(request: HttpRequest, code) -> HttpResponse:
    return _lifecycle(request, code, "document_publish", "Published. You can now request its release to partners.")


@require_POST
@login_required
def document_withdraw(request: HttpRequest, code) -> HttpResponse:
    return _lifecycle(request, code, "document_withdraw", "Withdrawn. Partners can no longer read it.")


@require_GET
@login_required
def document_attachments(request: HttpRequest, code) -> HttpResponse:
    """The upload page: files go, one request each, to the attachment upload endpoint."""
    user = request.user
    document = document_for_editor(user, code)
    context = {
        "document": document,
        "banner": banner_for([document], user),
        "attachments": Attachment.objects.filter(document=document, destroyed_at__isnull=True),
        "max_bytes": getattr(settings, "ACCORD_MAX_UPLOAD_BYTES", 2 * 1024**3),
    }
    return render(request, "sharing/documents/attachments.html", context)
