"""Organisation-admin pages: members, clearances, read-ins, roles and MFA resets.

Each view: gate (403 without the role, 404 outside the admin's organisation) → form → service
→ redirect. A refused change re-renders the page with the reason and a 400.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import access, compartments, selectors, services, sessions
from .forms import (
    ClearanceGrantForm,
    ClearanceRenewForm,
    MemberCreateForm,
    NominationForm,
    ReadInForm,
    ReasonForm,
    RoleForm,
)
from .models import User
from .roles import PHISHING_RESISTANT_ROLES, needs_security_key


def _apply(form: Form, change: Callable[[dict], object]) -> bool:
    """Run the service on a valid form; put a refusal's messages on the form's fields."""
    if not form.is_valid():
        return False
    try:
        change(form.cleaned_data)
    except ValidationError as exc:
        errors = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
        for field, field_errors in errors.items():
            form.add_error(field if field in form.fields else None, field_errors)
        return False
    return True


def _readin_form(request: HttpRequest, data=None) -> ReadInForm:
    """The read-in form offers the compartments the admin's organisation owns, and no other."""
    return ReadInForm(data, prefix="readin", compartments=compartments.owned_by(request.user.organisation))


def _member_page(request: HttpRequest, member: User, *, status: int = 200, **forms: Form) -> HttpResponse:
    context = {
        "member": member,
        "roles": selectors.roles_by_user(member.organisation).get(member.pk, []),
        "is_self": member.pk == request.user.pk,
        "security_keys": services.keys_of(member).count(),
        "open_sessions": sessions.active_sessions(member).count(),
        "needs_security_key": needs_security_key(member),
        "grant_form": forms.get("grant_form") or ClearanceGrantForm(prefix="grant"),
        "readin_form": forms.get("readin_form") or _readin_form(request),
        "role_form": forms.get("role_form") or RoleForm(prefix="role"),
        "action_form": forms.get("action_form"),
        **selectors.member_history(member),
    }
    return render(request, "accounts/org/member.html", context, status=status)


def _done(request: HttpRequest, member: User, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("accounts:org_member", code=member.code)


@require_GET
@login_required
def members(request: HttpRequest) -> HttpResponse:
    organisation = access.organisation_for_admin(request.user)
    context = {
        "organisation": organisation,
        "members": selectors.members_with_access(organisation),
        "pending": selectors.pending_grants(organisation),
    }
    return render(request, "accounts/org/members.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def member_create(request: HttpRequest) -> HttpResponse:
    organisation = access.organisation_for_admin(request.user)
    form = MemberCreateForm(request.POST or None)
    created: list[User] = []
    if request.method == "POST":
        if _apply(
            form, lambda d: created.append(services.user_create(actor=request.user, organisation=organisation, **d))
        ):
            messages.success(request, "Account created. They set a password with “Forgotten your password?”.")
            return redirect("accounts:org_member", code=created[0].code)
        return render(request, "accounts/org/member_new.html", {"form": form}, status=400)
    return render(request, "accounts/org/member_new.html", {"form": form})


@require_GET
@login_required
def member_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _member_page(request, access.member_for_admin(request.user, code))


@require_POST
@login_required
def clearance_grant(request: HttpRequest, code: str) -> HttpResponse:
    member = access.member_for_admin(request.user, code)
    form = ClearanceGrantForm(request.POST, prefix="grant")
    if _apply(form, lambda d: services.clearance_grant(actor=request.user, user=member, **d)):
        return _done(request, member, "Clearance recorded.")
    return _member_page(request, member, grant_form=form, status=400)


@require_POST
@login_required
def readin_grant(request: HttpRequest, code: str) -> HttpResponse:
    member = access.member_for_admin(request.user, code)
    form = _readin_form(request, request.POST)
    if _apply(
        form,
        lambda d: services.readin_grant(
            actor=request.user, user=member, compartment=d["compartment"], expires_at=d["expires_on"]
        ),
    ):
        return _done(request, member, "Read-in recorded.")
    return _member_page(request, member, readin_form=form, status=400)


def _role_change(request: HttpRequest, code: str, service, message: str) -> HttpResponse:
    member = access.member_for_admin(request.user, code)
    form = RoleForm(request.POST, prefix="role")
    if _apply(form, lambda d: service(actor=request.user, user=member, role=d["role"])):
        return _done(request, member, message)
    return _member_page(request, member, role_form=form, status=400)


@require_POST
@login_required
def role_grant(request: HttpRequest, code: str) -> HttpResponse:
    response = _role_change(request, code, services.role_grant, "Role given.")
    role = request.POST.get("role-role")
    if response.status_code == 302 and role in PHISHING_RESISTANT_ROLES:
        member = access.member_for_admin(request.user, code)
        if not services.has_security_key(member):
            messages.warning(
                request,
                f"{member.display_name} must enrol a security key or passkey (on their security page) and sign "
                "in with it before they can act in this role.",
            )
    return response


@require_POST
@login_required
def role_revoke(request: HttpRequest, code: str) -> HttpResponse:
    return _role_change(request, code, services.role_revoke, "Role removed.")


def _member_action(request: HttpRequest, member: User, change: Callable[[dict], object], message: str) -> HttpResponse:
    form = ReasonForm(request.POST)
    if _apply(form, change):
        return _done(request, member, message)
    return _member_page(request, member, action_form=form, status=400)


@require_POST
@login_required
def member_sessions_end(request: HttpRequest, code: str) -> HttpResponse:
    member = access.member_for_admin(request.user, code)
    ended = sessions.sessions_end_all(actor=request.user, user=member)
    return _done(request, member, f"Ended {ended} session(s): {member.display_name} is signed out everywhere.")


@require_POST
@login_required
def mfa_reset(request: HttpRequest, code: str) -> HttpResponse:
    member = access.member_for_admin(request.user, code)
    change = lambda d: services.mfa_reset(actor=request.user, user=member)  # noqa: E731
    return _member_action(request, member, change, "Authenticator removed: they enrol a new one at next sign-in.")


@require_POST
@login_required
def member_deactivate(request: HttpRequest, code: str) -> HttpResponse:
    member = access.member_for_admin(request.user, code)
    change = lambda d: services.user_deactivate(actor=request.user, user=member)  # noqa: E731
    return _member_action(request, member, change, "Account deactivated.")


@require_POST
@login_required
def clearance_approve(request: HttpRequest, code: str) -> HttpResponse:
    grant = access.grant_for_admin(request.user, code)
    change = lambda d: services.clearance_approve(actor=request.user, grant=grant)  # noqa: E731
    return _member_action(request, grant.user, change, "Clearance approved.")


@require_POST
@login_required
def clearance_refuse(request: HttpRequest, code: str) -> HttpResponse:
    grant = access.grant_for_admin(request.user, code)
    change = lambda d: services.clearance_refuse(actor=request.user, grant=grant, reason=d["reason"])  # noqa: E731
    return _member_action(request, grant.user, change, "Clearance refused.")


@require_POST
@login_required
def clearance_revoke(request: HttpRequest, code: str) -> HttpResponse:
    grant = access.grant_for_admin(request.user, code)
    change = lambda d: services.clearance_revoke(actor=request.user, grant=grant, reason=d["reason"])  # noqa: E731
    return _member_action(request, grant.user, change, "Clearance revoked.")


@require_POST
@login_required
def readin_revoke(request: HttpRequest, code: str) -> HttpResponse:
    readin = access.readin_for_admin(request.user, code)
    change = lambda d: services.readin_revoke(actor=request.user, readin=readin)  # noqa: E731
    return _member_action(request, readin.user, change, "Read-in revoked.")


@require_http_methods(["GET", "POST"])
@login_required
def clearance_renew(request: HttpRequest, code: str) -> HttpResponse:
    grant = access.grant_for_admin(request.user, code)
    form = ClearanceRenewForm(request.POST or None)
    if request.method == "POST":
        if _apply(form, lambda d: services.clearance_renew(actor=request.user, grant=grant, **d)):
            return _done(request, grant.user, "Clearance renewed.")
        return render(request, "accounts/org/renew.html", {"grant": grant, "form": form}, status=400)
    return render(request, "accounts/org/renew.html", {"grant": grant, "form": form})


def _nominations_page(request: HttpRequest, organisation, form: NominationForm | None = None, status: int = 200):
    form = form or _nomination_form(request, organisation)
    context = {"organisation": organisation, "form": form, **selectors.nominations_for(organisation)}
    return render(request, "accounts/org/nominations.html", context, status=status)


def _nomination_form(request: HttpRequest, organisation, data=None) -> NominationForm:
    members = organisation.members.filter(is_active=True).exclude(pk=request.user.pk).order_by("display_name")
    return NominationForm(data, members=members, compartments=compartments.nominable_by(organisation))


@require_http_methods(["GET", "POST"])
@login_required
def nominations(request: HttpRequest) -> HttpResponse:
    """Nominate a member for a partner's compartment; decide partners' nominations for ours."""
    organisation = access.organisation_for_admin(request.user)
    if request.method == "POST":
        form = _nomination_form(request, organisation, request.POST)
        change = lambda d: services.readin_nominate(  # noqa: E731
            actor=request.user, user=d["member"], compartment=d["compartment"], expires_at=d["expires_on"]
        )
        if _apply(form, change):
            messages.success(request, "Nomination sent: the compartment's owner decides.")
            return redirect("accounts:org_nominations")
        return _nominations_page(request, organisation, form, status=400)
    return _nominations_page(request, organisation)


def _decide(request: HttpRequest, code: str, change: Callable[..., object], message: str) -> HttpResponse:
    nomination = access.nomination_for_owner_admin(request.user, code)
    form = ReasonForm(request.POST)
    if _apply(form, lambda d: change(nomination, d)):
        messages.success(request, message)
        return redirect("accounts:org_nominations")
    messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return _nominations_page(request, request.user.organisation, status=400)


@require_POST
@login_required
def nomination_approve(request: HttpRequest, code: str) -> HttpResponse:
    change = lambda n, d: services.readin_nomination_approve(actor=request.user, nomination=n)  # noqa: E731
    return _decide(request, code, change, "Nomination approved: they are read in.")


@require_POST
@login_required
def nomination_decline(request: HttpRequest, code: str) -> HttpResponse:
    change = lambda n, d: services.readin_nomination_decline(  # noqa: E731
        actor=request.user, nomination=n, reason=d["reason"]
    )
    return _decide(request, code, change, "Nomination declined.")
