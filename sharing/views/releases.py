"""Release pages: request (with each recipient's eligibility shown first), approval queue, revoke."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Organisation, User
from accounts.roles import Role, require_role
from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse
from sharing.models import MarkingProposal, Release, SharingAgreement
from sharing.policy import ALLOW, Decision, deny, document_for_editor, readable_documents
from sharing.services import releases as services
from sharing.services.release_updates import awaiting_update

from .banners import MARKING_PREFETCH, banner_for, mark_for


class DecisionForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}), required=False)


class RequestForm(forms.Form):
    """Recipients, justification, and optionally named readers and an expiry.

    The form checks only shape; `release_request` decides every rule (expiry in the future and
    before the agreement's, readers active members of a chosen recipient) and its refusal is
    shown as the form's error.
    """

    WHOLE, NAMED = "organisation", "named"

    recipients = forms.ModelMultipleChoiceField(
        label="Recipients", queryset=Organisation.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    justification = forms.CharField(
        label="Why should they see it?", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    readers = forms.ChoiceField(
        label="Who at each recipient may read it?",
        choices=[(WHOLE, "Everyone in the recipient organisation"), (NAMED, "Named readers only")],
        initial=WHOLE,
        # Not sent means the whole organisation, as before named readers could be chosen.
        required=False,
        widget=forms.RadioSelect,
    )
    audience = forms.ModelMultipleChoiceField(
        label="Named readers",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        to_field_name="code",
        error_messages={"invalid_choice": "Choose named readers from the lists shown."},
    )
    expires_at = forms.DateTimeField(
        label="Release expires at (UTC, optional)",
        help_text="Leave empty to release until the agreement ends. For example 2026-12-31 17:00.",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "Enter a date and time, for example 2026-12-31 17:00."},
    )

    def __init__(self, *args, eligible=(), **kwargs):
        super().__init__(*args, **kwargs)
        eligible_ids = [o.pk for o in eligible]
        self.fields["recipients"].queryset = Organisation.objects.filter(pk__in=eligible_ids)
        self.fields["recipients"].to_field_name = "short_name"
        self.fields["recipients"].label_from_instance = lambda org: f"{org.name} ({org.country_id})"
        # Names and organisation only: nothing about a partner's clearances leaves this page.
        self.fields["audience"].queryset = User.objects.filter(
            organisation_id__in=eligible_ids, organisation__is_active=True, is_active=True
        ).order_by("display_name", "pk")

    def clean(self):
        data = super().clean()
        if data.get("readers") == self.NAMED:
            if not data.get("audience"):
                self.add_error("audience", "Choose at least one named reader, or release to everyone.")
        else:
            data["audience"] = []
        return data

    def readers_by_organisation(self) -> list[tuple[Organisation, list]]:
        """The named-reader checkboxes grouped under each eligible organisation, for the template."""
        chosen = {str(value) for value in (self["audience"].value() or [])}
        members = list(self.fields["audience"].queryset.select_related("organisation"))
        groups, index = [], 0
        for org in self.fields["recipients"].queryset.order_by("name"):
            people = []
            for user in members:
                if user.organisation_id == org.pk:
                    # Ids follow Django's `id_audience_<n>` so the error summary's link lands on the first.
                    people.append((user, str(user.code) in chosen, f"{self['audience'].auto_id}_{index}"))
                    index += 1
            groups.append((org, people))
        return groups


def _candidate_agreements(user):
    now = timezone.now()
    return SharingAgreement.objects.filter(
        party_rows__organisation_id=user.organisation_id,
        status=SharingAgreement.Status.ACTIVE,
        effective_from__lte=now,
        expires_at__gt=now,
    ).select_related("tier_ceiling")


def _eligibility(user, document, agreement) -> list[tuple[Organisation, Decision]]:
    """Every other party of the agreement, with the answer the release service would give.

    The page asks the service's own refusal rules (the same function `release_request` runs), one
    recipient at a time, so what it shows before sending can never disagree with what happens.
    """
    refusal_of = services.release_request_refusal
    now = timezone.now()
    rows = []
    for org in Organisation.objects.filter(agreements=agreement).exclude(pk=document.originator_id).order_by("name"):
        refusal = refusal_of(
            actor=user,
            document=document,
            agreement=agreement,
            recipients=[org],
            audience=[],
            justification="(asked before the request is made)",
            expires_at=None,
            now=now,
        )
        rows.append((org, deny(refusal) if refusal else ALLOW))
    return rows


@require_http_methods(["GET", "POST"])
@login_required
def release_request(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    document = document_for_editor(user, code)
    agreements = _candidate_agreements(user)
    agreement = agreements.filter(code=request.GET.get("agreement") or request.POST.get("agreement") or None).first()
    rows = _eligibility(user, document, agreement) if agreement else []
    eligible = [org for org, decision in rows if decision]
    form = RequestForm(request.POST or None, eligible=eligible)
    if request.method == "POST" and agreement and form.is_valid():
        try:
            services.release_request(
                actor=user,
                document=document,
                agreement=agreement,
                recipients=list(form.cleaned_data["recipients"]),
                audience=list(form.cleaned_data["audience"]),
                justification=form.cleaned_data["justification"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, "Release requested. A release officer of your organisation will decide.")
            return redirect("sharing:document_detail", code=document.code)
    context = {
        "document": document,
        "mark": mark_for(document, user),
        "banner": banner_for([document], user),
        "agreements": agreements,
        "agreement": agreement,
        "rows": rows,
        "form": form,
    }
    return render(request, "sharing/releases/request.html", context)


def _officer_org(user) -> Organisation:
    return require_role(user, Role.RELEASE_OFFICER, user.organisation, wanted="queue")


@require_GET
@login_required
def release_queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    organisation = _officer_org(user)
    releases = (
        Release.objects.filter(document__originator=organisation, document__in=readable_documents(user))
        .select_related("document__tier", "document__originator", "recipient", "agreement", "requested_by")
        .prefetch_related("audience", *(f"document__{name}" for name in MARKING_PREFETCH))
    )
    waiting = list(releases.filter(status=Release.Status.REQUESTED).order_by("requested_at"))
    live = list(releases.filter(status=Release.Status.APPROVED).order_by("-decided_at")[:50])
    suspended = list(releases.filter(status=Release.Status.SUSPENDED).order_by("-suspended_at")[:50])
    updates = list(awaiting_update(releases).select_related("revision").order_by("document__updated_at")[:50])
    markings = list(
        MarkingProposal.objects.filter(
            document__originator=organisation,
            document__in=readable_documents(user),
            status=MarkingProposal.Status.PENDING,
        )
        .exclude(proposed_by=user)
        .select_related("document__tier", "document__originator", "proposed_by")
        .prefetch_related(*(f"document__{name}" for name in MARKING_PREFETCH))
        .order_by("proposed_at")[:50]
    )
    documents = [r.document for r in waiting + live + suspended + updates] + [p.document for p in markings]
    context = {
        "markings": [(p, mark_for(p.document, user)) for p in markings],
        "waiting": [(r, mark_for(r.document, user)) for r in waiting],
        "updates": [(r, mark_for(r.document, user)) for r in updates],
        "live": [(r, mark_for(r.document, user)) for r in live],
        "suspended": [(r, mark_for(r.document, user)) for r in suspended],
        "banner": banner_for(documents, user),
        "form": DecisionForm(),
    }
    return render(request, "sharing/releases/queue.html", context)


def _release_for_officer(user, code) -> Release:
    """A release of the officer's organisation's document, readable by them; 404 otherwise."""
    organisation = _officer_org(user)
    release = (
        Release.objects.filter(code=code, document__originator=organisation, document__in=readable_documents(user))
        .select_related("document")
        .first()
    )
    if release is None:
        target = ("sharing.release", code, "")
        error = Http404("No such release.")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            Reason.RELEASE_NOT_FOUND_OR_NOT_THEIRS,
            error=error,
            details={"wanted": "decide release"},
        )
    return release


def _decide(request: HttpRequest, code, service_name: str, done: str) -> HttpResponse:
    release = _release_for_officer(request.user, code)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason of at most 1000 characters.")
        return redirect("sharing:release_queue")
    try:
        getattr(services, service_name)(actor=request.user, release=release, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done.format(title=release.document.title, to=release.recipient.short_name.upper()))
    return redirect("sharing:release_queue")


@require_POST
@login_required
def release_approve(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, "release_approve", "Released “{title}” to {to}.")


@require_POST
@login_required
def release_refuse(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, "release_refuse", "Refused the release of “{title}” to {to}.")


@require_POST
@login_required
def release_revoke(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, "release_revoke", "Revoked the release of “{title}” to {to}: access ended now.")


@require_POST
@login_required
def release_reinstate(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, "release_reinstate", "Reinstated the release of “{title}” to {to}.")
