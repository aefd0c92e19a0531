"""The portal's URLs plus what bench/bench_load.py compares them against. Never part of the portal.

- bare/...: the same pages with no access policy and no audit: the list and search over every
  document, the detail page by code, and plaintext upload/download through Django's defaults
  (FileSystemStorage, FileResponse). Same middleware (session, MFA, CSP), same templates.
- accord/...: stand-ins for the document list and detail pages, used only while the portal has
  no `sharing:document_list` / `sharing:document_detail` views: they go through the real gates
  and selectors (readable_documents, filter_documents, document_for_reader, the DOCUMENT_VIEWED
  audit event) and render the same templates as the bare views.
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

from audit.models import Action
from audit.services import record
from sharing.markdown import render_markdown
from sharing.models import Attachment, Document
from sharing.policy import document_for_reader, readable_documents
from sharing.selectors import filter_documents, search_documents, with_marking

PAGE_SIZE = 25


def _plain() -> FileSystemStorage:
    return FileSystemStorage(location=settings.MEDIA_ROOT / "bench-plain")


def _list(request, documents, search, prefix):
    text = request.GET.get("text", "").strip()
    documents = search(documents, text) if text else documents.order_by("-created_at", "-pk")
    page = Paginator(with_marking(documents), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "bench/load_list.html", {"page": page, "text": text, "detail_prefix": prefix})


def _detail(request, document, download_prefix):
    context = {
        "document": document,
        "body_html": render_markdown(document.body),
        "attachments": Attachment.objects.filter(document=document, destroyed_at__isnull=True),
        "download_prefix": download_prefix,
    }
    return render(request, "bench/load_detail.html", context)


@require_GET
@login_required
def accord_list(request):
    readable = readable_documents(request.user)
    return _list(request, readable, lambda qs, text: filter_documents(qs, text=text), "/bench/accord/documents/")


@require_GET
@login_required
def accord_detail(request, code):
    document = document_for_reader(request.user, code)
    record(Action.DOCUMENT_VIEWED, actor=request.user, target=document)
    document = with_marking(Document.objects.filter(pk=document.pk)).get()
    return _detail(request, document, "/documents/attachments/")


@require_GET
@login_required
def bare_list(request):
    return _list(request, Document.objects.all(), search_documents, "/bench/bare/documents/")


@require_GET
@login_required
def bare_detail(request, code):
    document = get_object_or_404(with_marking(Document.objects.all()), code=code)
    return _detail(request, document, "/bench/bare/files/")


@csrf_exempt  # the Accord upload checks CSRF; the client sends the token to both alike
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
    path("bench/accord/documents/", accord_list),
    path("bench/accord/documents/<uuid:code>/", accord_detail),
    path("bench/bare/documents/", bare_list),
    path("bench/bare/documents/<uuid:code>/", bare_detail),
    path("bench/bare/documents/<uuid:code>/attachments/", bare_upload),
    path("bench/bare/files/<str:name>/download/", bare_download),
    path("", include("portal.urls")),
]
