"""The release officer's difference page: what a partner reads against the latest revision,
and the decision to pass the update on (or not)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.models import Action
from audit.services import record
from sharing.diffing import revision_diff
from sharing.marking import highest_marking, marking_from_snapshot
from sharing.policy import release_for_update
from sharing.services import release_updates as services

from .banners import Mark, viewer_country


class UpdateDecisionForm(forms.Form):
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _banner(diff, user) -> Mark:
    """Both revisions are on the page: the banner is the higher of their markings."""
    tiers = {r.tier.code: r.tier for r in (diff.before, diff.after)}
    marking = highest_marking([marking_from_snapshot(r.snapshot, tiers) for r in (diff.before, diff.after)])
    return Mark(tier=marking.tier, text=marking.banner(viewer_country(user)))


@require_GET
@login_required
def release_update(request: HttpRequest, code) -> HttpResponse:
    """Pinned against latest revision, marking first. Partners and outsiders get 404 (audited)."""
    user = request.user
    release = release_for_update(user, code)
    latest = services.pending_update(release)
    context = {"release": release, "document": release.document, "latest": latest, "diff": None, "banner": None}
    if latest is not None:
        diff = revision_diff(release.revision, latest, viewer_country(user))
        record(
            Action.DOCUMENT_VIEWED,
            actor=user,
            target=release.document,
            details={"revision": latest.number, "compared_with": release.revision.number, "page": "release update"},
        )
        context |= {
            "diff": diff,
            "banner": _banner(diff, user),
            "form": UpdateDecisionForm(initial={"revision": latest.number}),
        }
    return render(request, "sharing/releases/update.html", context)


def _decide(request: HttpRequest, code, service, done: str) -> HttpResponse:
    release = release_for_update(request.user, code)
    form = UpdateDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason of at most 1000 characters, from the difference page.")
        return redirect("sharing:release_update", code=release.code)
    try:
        service(
            actor=request.user,
            release=release,
            revision=form.cleaned_data["revision"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sharing:release_update", code=release.code)
    messages.success(request, done.format(to=release.recipient.short_name.upper()))
    return redirect("sharing:release_queue")


@require_POST
@login_required
def release_update_approve(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, services.release_update_approve, "Update released to {to}: they now read it.")


@require_POST
@login_required
def release_update_decline(request: HttpRequest, code) -> HttpResponse:
    return _decide(request, code, services.release_update_decline, "Update declined: {to} keeps the revision it read.")
