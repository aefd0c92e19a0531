"""The person's own API tokens, in the portal: list, make (the secret shown once), revoke.

Session pages, so they sit behind sign-in and the MFA middleware like every other page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.stepup import verified_within
from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse

from ..forms import TokenForm
from ..models import ApiToken
from ..tokens import token_create, token_revoke, tokens_of


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = token_create(
                actor=request.user,
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.scopes(),
                days=form.cleaned_data["days"],
                key_verified=verified_within(request.session),
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            # Rendered, not redirected: the secret exists only in this one response.
            return render(request, "api/token_created.html", {"token": new.token, "secret": new.secret})
    context = {"form": form, "tokens": tokens_of(request.user), "now": timezone.now()}
    return render(request, "api/tokens.html", context, status=400 if form.is_bound else 200)


@require_POST
@login_required
def token_revoke_view(request: HttpRequest, code) -> HttpResponse:
    token = ApiToken.objects.filter(code=code, user=request.user).first()
    if token is None:
        target = ("api.apitoken", str(code), "")
        refuse(
            request.user,
            Action.API_TOKEN_REVOKED,
            target,
            Reason.NO_SUCH_TOKEN_OF_THEIRS,
            error=Http404("No such token."),
        )
    token_revoke(actor=request.user, token=token)
    messages.success(request, f"The token “{token.name}” is revoked; requests with it are refused from now on.")
    return redirect("api:tokens")
