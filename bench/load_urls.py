"""The portal's URLs plus the bare baseline bench/bench_load.py compares them against. Never part
of the portal.

bare/...: the portal's document list (with search) and detail pages built the same way and
rendered through the same templates, with no access policy and no audit: `Document.objects.all()`
where the portal has `readable_documents(user)`, a plain lookup where it has
`document_for_reader` (and no `document.viewed` event); and plaintext upload/download through
Django's defaults (FileSystemStorage, FileResponse) where the portal encrypts, gates and audits.
The middleware (session, MFA, CSP, request log) is the same.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import FileSystemStorage
from django.core.paginator import Paginator
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sharing.forms import DocumentFilterForm, WithdrawForm
from sharing.markdown import render_markdown
from sharing.models import Attachment, Document, Release
from sharing.selectors import evaluated_models, filter_documents, revision_history, with_marking
from sharing.views.banners import banner_for, mark_for, viewer_country
from sharing.views.documents import PAGE_SIZE


def _plain() -> FileSystemStorage:
    return FileSystemStorage(location=settings.MEDIA_ROOT / "bench-plain")


@require_GET
@login_required
def bare_list(request):
    """sharing.views.documents.document_list over every document."""
    user = request.user
    everything = Document.objects.all()
    form = DocumentFilterForm(request.GET or None)
    form.fields["model_name"].widget.attrs["list"] = "known-models"
    form.fields["tier"].empty_label = "Any tier"
    form.fields["originator"].empty_label = "Any organisation"
    documents = everything
    if form.is_valid():
        documents = filter_documents(everything, **form.cleaned_data)
    if not (form.is_bound and form.is_valid() and form.cleaned_data.get("text")):
        documents = documents.order_by("-created_at", "-pk")
    page = Paginator(with_marking(documents), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [(document, mark_for(document, user)) for document in page.object_list],
        "models": evaluated_models(everything),
        "query": query.urlencode(),
        "banner": banner_for(page.object_list, user),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
    }
    return render(request, "sharing/documents/list.html", context)


@require_GET
@login_required
def bare_detail(request, code):
    """sharing.views.documents.document_detail without the gate and the audit event."""
    user = request.user
    document = get_object_or_404(Document.objects.select_related("tier", "originator"), code=code)
    is_originator = user.organisation_id == document.originator_id
    releases = Release.objects.filter(document=document).select_related("recipient", "agreement")
    if not is_originator:
        releases = releases.filter(recipient_id=user.organisation_id)
    context = {
        "document": document,
        "mark": mark_for(document, user),
        "banner": banner_for([document], user),
        "body_html": render_markdown(document.body),
        "attachments": Attachment.objects.filter(document=document, destroyed_at__isnull=True),
        "history": revision_history(document) if is_originator else [],
        "country": viewer_country(user),
        "releases": releases,
        "is_originator": is_originator,
        "may_edit": False,
        "withdraw_form": WithdrawForm(),
    }
    return render(request, "sharing/documents/detail.html", context)


@csrf_exempt  # the portal's upload checks CSRF; the client sends the token to both alike
@require_POST
@login_required
def bare_upload(request, code):
    get_object_or_404(Document, code=code)
    name = _plain().save(secrets.token_hex(16), request.FILES["file"])
    return JsonResponse({"code": name}, status=201)


@require_GET
@login_required
def bare_download(request, name):
    return FileResponse(_plain().open(name, "rb"), as_attachment=True, filename="file.txt")


urlpatterns = [
    path("bench/bare/documents/", bare_list),
    path("bench/bare/documents/<uuid:code>/", bare_detail),
    path("bench/bare/documents/<uuid:code>/attachments/", bare_upload),
    path("bench/bare/files/<str:name>/download/", bare_download),
    path("", include("portal.urls")),
]
