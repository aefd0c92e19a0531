"""The portal's URLs plus the bare baseline bench/bench_load.py compares them against. Never part
of the portal.

bare/...: the portal's own document list (with search) and detail pages, the very functions the
portal's views call, with no access policy and no audit: `Document.objects.all()` where the
portal has `readable_documents(user)`, a plain lookup where it has `document_for_reader` (and no
`document.viewed` event); and plaintext upload/download through
Django's defaults (FileSystemStorage, FileResponse) where the portal encrypts, gates and audits.
The middleware (session, MFA, CSP, request log) is the same.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sharing.models import Document
from sharing.selectors import evaluated_models
from sharing.views.documents import document_list_page, document_page


def _plain() -> FileSystemStorage:
    return FileSystemStorage(location=settings.MEDIA_ROOT / "bench-plain")


@require_GET
@login_required
def bare_list(request):
    """The portal's document list page over every document: no access policy, no audit event,
    the filter menu cached for everyone (as the portal caches each reader's)."""
    everything = Document.objects.all()
    return document_list_page(
        request,
        everything,
        lambda: cache.get_or_set("bench:bare-models-menu", lambda: evaluated_models(everything), 300),
    )


@require_GET
@login_required
def bare_detail(request, code):
    """The portal's document page after a plain lookup: no gate, no `document.viewed` event."""
    return document_page(request, get_object_or_404(Document.objects.select_related("tier", "originator"), code=code))


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
