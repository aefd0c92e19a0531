"""The organisation admin's page of its members' API tokens: see them all, revoke any.

Never the secret (only its hash is stored): name, public prefix, scopes, dates and state.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ..access import organisation_for_token_admin, token_for_org_admin
from ..tokens import token_revoke, tokens_of_organisation


@require_GET
@login_required
@never_cache
def member_tokens(request: HttpRequest) -> HttpResponse:
    organisation = organisation_for_token_admin(request.user)
    context = {"organisation": organisation, "tokens": tokens_of_organisation(organisation), "now": timezone.now()}
    return render(request, "api/org_tokens.html", context)


@require_POST
@login_required
def member_token_revoke(request: HttpRequest, code) -> HttpResponse:
    token = token_for_org_admin(request.user, code)
    token_revoke(actor=request.user, token=token)
    messages.success(
        request, f"{token.user.display_name}’s token “{token.name}” is revoked; requests with it are refused."
    )
    return redirect("api:org_tokens")
