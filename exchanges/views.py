"""Secondment pages: the list (current and past), proposing, one secondment (what it allows,
days left, approvals, the switch), the admins' steps, and the host's hand-over list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.affiliations import acting_for_host
from accounts.roles import Role, require_role
from audit.models import Action
from audit.reasons import Reason
from audit.services import record_denial
from sharing.models import Document
from sharing.policy import readable_documents

from . import services
from .access import secondment_for_viewer
from .forms import ExtendForm, ProposeForm, SwitchForm
from .middleware import SECONDEE_HINT, SESSION_KEY
from .selectors import administered_ids, current_and_past, visible_secondments


@require_GET
@login_required
def secondment_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    current, past = current_and_past(visible_secondments(request.user), now)
    context = {"current": current, "past": past, "now": now, "may_propose": bool(administered_ids(request.user))}
    return render(request, "exchanges/list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def secondment_propose(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not administered_ids(user):
        require_role(user, Role.ORG_ADMIN, user.organisation, wanted="propose secondment")
    form = ProposeForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            secondment = services.secondment_propose(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Proposed: it is active once an admin of each side has approved it.")
            return redirect("exchanges:detail", code=secondment.code)
    elif request.method == "POST":
        details = {"reason": Reason.INVALID.value, "errors": sorted(form.errors)}
        record_denial(Action.SECONDMENT_PROPOSED, actor=user, details=details)
    return render(request, "exchanges/propose.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
@login_required
def secondment_detail(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    secondment = secondment_for_viewer(user, code, wanted="read")
    now = timezone.now()
    affiliation = acting_for_host(user)
    if secondment.person_id == user.pk and secondment.is_active_at(now):
        request.session[SECONDEE_HINT] = True  # approved since they signed in: the header shows it from now on
    context = {
        "secondment": secondment,
        "active": secondment.is_active_at(now),
        "days_left": max((secondment.ends_at - now).days, 0),
        "is_person": secondment.person_id == user.pk,
        "acting_for_host": affiliation is not None and affiliation.secondment_code == str(secondment.code),
        "admin_sides": services.admin_sides(user, secondment),
    }
    return render(request, "exchanges/detail.html", context)


def _step(request: HttpRequest, code, step, done: str, **kwargs) -> HttpResponse:
    secondment = secondment_for_viewer(request.user, code, wanted=step.__name__)
    try:
        step(actor=request.user, secondment=secondment, **kwargs)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("exchanges:detail", code=secondment.code)


@require_POST
@login_required
def secondment_approve(request: HttpRequest, code) -> HttpResponse:
    return _step(request, code, services.secondment_approve, "Approved for your organisation.")


@require_POST
@login_required
def secondment_end(request: HttpRequest, code) -> HttpResponse:
    return _step(request, code, services.secondment_end, "The secondment has ended.")


@require_POST
@login_required
def secondment_extend(request: HttpRequest, code) -> HttpResponse:
    form = ExtendForm(request.POST)
    if not form.is_valid():
        secondment = secondment_for_viewer(request.user, code, wanted="extend")
        details = {"reason": Reason.INVALID.value}
        record_denial(Action.SECONDMENT_EXTENSION_PROPOSED, actor=request.user, target=secondment, details=details)
        messages.error(request, "Give the new end date and time.")
        return redirect("exchanges:detail", code=secondment.code)
    done = "Extension proposed: it holds once both sides approve it."
    return _step(request, code, services.secondment_extension_propose, done, ends_at=form.cleaned_data["ends_at"])


@require_POST
@login_required
def secondment_extension_approve(request: HttpRequest, code) -> HttpResponse:
    return _step(request, code, services.secondment_extension_approve, "Extension approved for your organisation.")


@require_POST
@login_required
def secondment_switch(request: HttpRequest, code) -> HttpResponse:
    """The explicit, audited switch between acting for home and acting for the host."""
    user = request.user
    secondment = secondment_for_viewer(user, code, wanted="switch")
    form = SwitchForm(request.POST)
    to = form.cleaned_data["to"] if form.is_valid() else str(request.POST.get("to", ""))
    try:
        services.secondment_switch(actor=user, secondment=secondment, to=to)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("exchanges:detail", code=secondment.code)
    request.session[SECONDEE_HINT] = True
    if to == "host":
        request.session[SESSION_KEY] = str(secondment.code)
    else:
        request.session.pop(SESSION_KEY, None)
    messages.success(request, f"You are acting for {getattr(secondment, to).short_name.upper()}.")
    return redirect("home")


@require_GET
@login_required
def secondment_handover(request: HttpRequest, code) -> HttpResponse:
    """The host's admins: what the secondee wrote while acting for the host (originator = host)."""
    user = request.user
    secondment = secondment_for_viewer(user, code, wanted="hand-over")
    require_role(user, Role.ORG_ADMIN, secondment.host, target=secondment, wanted="hand-over")
    written = Document.objects.filter(originator=secondment.host, author=secondment.person)
    documents = readable_documents(user).filter(pk__in=written.values("pk")).order_by("created_at")
    context = {"secondment": secondment, "documents": documents, "unreadable": written.count() - documents.count()}
    return render(request, "exchanges/handover.html", context)
