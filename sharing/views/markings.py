"""A lower marking's decision: a different release officer of the originator approves or refuses
it, from the document page, where the originator's people see it waiting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from sharing.policy import marking_proposal_for_originator
from sharing.services import markings as services

from .releases import DecisionForm


def _decide(request: HttpRequest, code, service, done: str) -> HttpResponse:
    # A partner or an outsider gets 404 here; a colleague who may not decide, 403 (the service's).
    proposal = marking_proposal_for_originator(request.user, code)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason of at most 1000 characters.")
    else:
        try:
            service(actor=request.user, proposal=proposal, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, done)
    return redirect("sharing:document_detail", code=proposal.document.code)


@require_POST
@login_required
def marking_approve(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, services.marking_proposal_approve, "Lower marking approved: it is the marking now.")


@require_POST
@login_required
def marking_refuse(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, services.marking_proposal_refuse, "Lower marking refused: the marking stays.")
