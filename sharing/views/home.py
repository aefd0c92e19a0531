"""Home: what needs the signed-in person now."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sharing.inbox import inbox_for

from .banners import banner_for, mark_for, viewer_country


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    inbox = inbox_for(request.user)
    marks = {document.pk: mark_for(document, request.user) for document in inbox.documents}
    context = {
        "inbox": inbox,
        "marks": marks,
        "banner": banner_for(inbox.documents, request.user),
        "country": viewer_country(request.user),
    }
    return render(request, "home.html", context)
