"""Exercise pages: the list, creating one, its page with the lead's phase controls, the
protocol's draft form, signing a version, and a version's JSON export.

Every page reaches an exercise only through `policy.exercise_for_member` (or
`protocol_version_for_member`): 404, audited, for a forbidden one as for a missing one. A
person who sees the exercise but may not take a step gets 403, audited."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Role, has_role
from audit.models import Action
from audit.reasons import Reason
from audit.services import record, record_denial, refuse

from . import services
from .forms import AdvanceForm, ExerciseForm, ProtocolForm, SignForm, initial_from
from .marking import banner_for
from .models import Exercise, ProtocolVersion
from .policy import (
    can_lead,
    can_sign,
    exercise_for_member,
    protocol_version_for_member,
    require_lead,
    visible_exercises,
    visible_runs,
)
from .protocol import export_version
from .selectors import adopted_version, current_draft, latest_version

_LIST_LIMIT = 200


@require_GET
@login_required
def exercise_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    exercises = list(
        visible_exercises(user)
        .select_related("lead", "tier", "compartment", "agreement")
        .prefetch_related("releasable_to", "participant_rows__organisation")
        .order_by("-created_at")[:_LIST_LIMIT]
    )
    record(Action.EXERCISE_LISTED, actor=user, subjects={"exercises.exercise": [e.code for e in exercises]})
    may_create = user.organisation is not None and has_role(user, Role.ORG_ADMIN, user.organisation)
    context = {"exercises": exercises, "banner": banner_for(exercises, user), "may_create": may_create}
    return render(request, "exercises/list.html", context)


def _refuse_non_admin(user) -> None:
    if user.organisation is None or not has_role(user, Role.ORG_ADMIN, user.organisation):
        refuse(
            user,
            Action.ACCESS_DENIED,
            ("exercises.exercise", "", ""),
            Reason.NOT_AN_ORGANISATION_ADMIN,
            error=PermissionDenied,
            details={"wanted": "create exercise"},
        )


@require_http_methods(["GET", "POST"])
@login_required
def exercise_create(request: HttpRequest) -> HttpResponse:
    """Set up an exercise led by the admin's organisation (its admins own the compartment)."""
    user = request.user
    _refuse_non_admin(user)
    form = ExerciseForm(request.POST if request.method == "POST" else None, lead=user)
    if request.method == "POST":
        if form.is_valid():
            try:
                exercise = services.exercise_create(actor=user, **form.cleaned_data)
            except ValidationError as exc:  # refused and audited by the service; nothing written
                _add_errors(form, exc)
            else:
                messages.success(request, "The exercise is set up and you are read in to its compartment.")
                return redirect("exercises:detail", code=exercise.code)
        else:
            record_denial(Action.EXERCISE_CREATED, actor=user, details={"errors": form.errors.get_json_data()})
        return render(request, "exercises/form.html", {"form": form}, status=400)
    return render(request, "exercises/form.html", {"form": form})


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@require_GET
@login_required
def exercise_detail(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    exercise = exercise_for_member(user, code)
    record(Action.EXERCISE_VIEWED, actor=user, target=exercise)
    versions = list(
        exercise.protocol_versions.select_related("drafted_by").prefetch_related("tasks", "signatures__organisation")
    )
    participants = [row.organisation for row in exercise.participant_rows.select_related("organisation")]
    draft = next((v for v in versions if v.status == ProtocolVersion.Status.DRAFT), None)
    signed = {s.organisation_id for s in draft.signatures.all()} if draft else set()
    context = {
        "exercise": exercise,
        "banner": banner_for([exercise], user),
        "participants": participants,
        "references": exercise.reference_models.all(),
        "risk_domains": exercise.risk_domains.all(),
        "versions": versions,
        "draft": draft,
        "draft_signed_by": signed,
        "may_lead": bool(can_lead(user, exercise)),
        "may_sign": bool(draft and can_sign(user, exercise) and user.organisation_id not in signed),
        "advance_form": AdvanceForm(),
        "runs": visible_runs(user, exercise).select_related("organisation", "document", "protocol_version"),
        "adopted": adopted_version(exercise),
        "may_run": exercise.phase == Exercise.Phase.RUNNING
        and user.organisation is not None
        and has_role(user, Role.AUTHOR, user.organisation),
    }
    return render(request, "exercises/detail.html", context)


@require_POST
@login_required
def exercise_advance(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    exercise = exercise_for_member(user, code, wanted="change phase")
    require_lead(user, exercise, action=Action.EXERCISE_PHASE_CHANGED, wanted="change phase")
    form = AdvanceForm(request.POST)
    if not form.is_valid():
        record_denial(Action.EXERCISE_PHASE_CHANGED, actor=user, target=exercise, details={"reason": "invalid"})
        messages.error(request, "Choose the phase to move to.")
        return redirect("exercises:detail", code=exercise.code)
    try:
        services.exercise_advance(actor=user, exercise=exercise, to=form.cleaned_data["to"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The exercise is now in its {exercise.get_phase_display().lower()} phase.")
    return redirect("exercises:detail", code=exercise.code)


@require_http_methods(["GET", "POST"])
@login_required
def protocol_edit(request: HttpRequest, code) -> HttpResponse:
    """The lead drafts the protocol; a change to a signed or adopted version is a new version."""
    user = request.user
    exercise = exercise_for_member(user, code, wanted="draft protocol")
    require_lead(user, exercise, action=Action.PROTOCOL_DRAFTED, wanted="draft protocol")
    base = current_draft(exercise) or latest_version(exercise)
    context = {"exercise": exercise, "banner": banner_for([exercise], user), "base": base}
    if request.method == "GET":
        context["form"] = ProtocolForm(initial=initial_from(base))
        return render(request, "exercises/protocol_form.html", context)
    form = ProtocolForm(request.POST)
    context["form"] = form
    if form.is_valid():
        try:
            version = services.protocol_draft(actor=user, exercise=exercise, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, f"Protocol version {version.number} awaits every participant's signature.")
            return redirect("exercises:detail", code=exercise.code)
    else:
        record_denial(
            Action.PROTOCOL_DRAFTED, actor=user, target=exercise, details={"errors": form.errors.get_json_data()}
        )
    return render(request, "exercises/protocol_form.html", context, status=400)


@require_POST
@login_required
def protocol_sign(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    version = protocol_version_for_member(user, code, wanted="sign protocol")
    exercise = version.exercise
    decision = can_sign(user, exercise)
    if not decision:
        refuse(user, Action.PROTOCOL_SIGNED, version, decision.refusal, error=PermissionDenied)
    form = SignForm(request.POST)
    digest = form.cleaned_data["digest"] if form.is_valid() else ""
    try:
        version = services.protocol_sign(actor=user, version=version, digest=digest)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if version.status == ProtocolVersion.Status.ADOPTED:
            messages.success(request, f"Every participant has signed: protocol version {version.number} is adopted.")
        else:
            messages.success(request, f"You signed protocol version {version.number} for your organisation.")
    return redirect("exercises:detail", code=exercise.code)


@require_GET
@login_required
@never_cache
def protocol_export(request: HttpRequest, code) -> HttpResponse:
    """The version as the JSON file a pipeline reads (docs/API.md)."""
    user = request.user
    version = protocol_version_for_member(user, code, wanted="export protocol")
    version = ProtocolVersion.objects.prefetch_related("tasks", "signatures__organisation").get(pk=version.pk)
    record(Action.PROTOCOL_EXPORTED, actor=user, target=version, details={"version": version.number})
    body = json.dumps(export_version(version), indent=2)
    response = HttpResponse(body, content_type="application/json")
    filename = f"{version.exercise.reference.lower()}-protocol-v{version.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@login_required
def run_create(request: HttpRequest, code) -> HttpResponse:
    """Start the organisation's run under the adopted protocol, then attach its Inspect logs on
    the run's finding (the document attachment path: encrypted, scanned, parsed)."""
    user = request.user
    exercise = exercise_for_member(user, code, wanted="start run")
    title = str(request.POST.get("title", ""))[:300]
    try:
        run = services.run_create(actor=user, exercise=exercise, version=adopted_version(exercise), title=title)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("exercises:detail", code=exercise.code)
    messages.success(request, "Your run is started: attach its Inspect logs (.eval or .json) here.")
    return redirect("sharing:document_attachments", code=run.document.code)
