"""Forms of the exercise pages. Plain forms whose `cleaned_data` match the services' arguments;
the services check every rule again and audit."""

from __future__ import annotations

import json

from django import forms
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation, Tier, User, clearance_of
from sharing.models import RiskDomain, SharingAgreement

from .models import Exercise, ProtocolVersion

MAX_TASKS_JSON = 5_000_000


class ExerciseForm(forms.Form):
    reference = forms.CharField(max_length=40, help_text="For example JOINT-EX-3. It names the compartment too.")
    title = forms.CharField(max_length=300)
    agreement = forms.ModelChoiceField(queryset=SharingAgreement.objects.none(), empty_label=None)
    participants = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The other institutes taking part; each must be a party to the agreement.",
    )
    target_developer = forms.CharField(label="Target model developer", max_length=120)
    target_name = forms.CharField(label="Target model name", max_length=120)
    target_version = forms.CharField(label="Target model version or snapshot", max_length=120)
    target_access = forms.ChoiceField(label="Target model access", choices=Exercise.Access.choices)
    reference_models = forms.CharField(
        label="Reference models",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="One a line: developer | name | version.",
    )
    risk_domains = forms.ModelMultipleChoiceField(
        queryset=RiskDomain.objects.all(), widget=forms.CheckboxSelectMultiple
    )
    tier = forms.ModelChoiceField(queryset=Tier.objects.none(), empty_label=None)

    def __init__(self, *args, lead: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        organisation_id = lead.organisation_id
        agreements = SharingAgreement.objects.filter(
            party_rows__organisation_id=organisation_id,
            status=SharingAgreement.Status.ACTIVE,
            effective_from__lte=now,
            expires_at__gt=now,
        )
        self.fields["agreement"].queryset = agreements.order_by("reference")
        self.fields["participants"].queryset = (
            Organisation.objects.filter(Q(agreements__in=agreements), is_active=True)
            .exclude(pk=organisation_id)
            .distinct()
            .order_by("name")
        )
        self.fields["participants"].label_from_instance = lambda org: f"{org.name} ({org.short_name.upper()})"
        clearance = clearance_of(lead)
        self.fields["tier"].queryset = (
            Tier.objects.filter(rank__lte=clearance.rank) if clearance else Tier.objects.none()
        )

    def clean_reference_models(self) -> list[dict]:
        models = []
        for number, line in enumerate(self.cleaned_data["reference_models"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) not in (2, 3) or not all(parts[:2]):
                raise forms.ValidationError(f"Line {number}: write developer | name | version.")
            models.append({"developer": parts[0], "name": parts[1], "version": parts[2] if len(parts) == 3 else ""})
        return models


class ProtocolForm(forms.Form):
    """The lead's draft: the models by their Inspect names, and the tasks as JSON (the `tasks`
    of the export's `content`, or the shorter form docs/API.md shows)."""

    target_model = forms.CharField(
        label="Target model (Inspect name)", max_length=200, help_text="For example openai/gpt-4o-2024-08-06."
    )
    reference_models = forms.CharField(
        label="Reference models (Inspect names)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One a line.",
    )
    tasks = forms.CharField(
        label="Tasks (JSON)",
        max_length=MAX_TASKS_JSON,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        help_text=(
            "A list of tasks, each with task, task_version, dataset, sample_ids, scorers, metrics, "
            "epochs, temperature, max_tokens, seed and solver."
        ),
    )
    notes = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_reference_models(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["reference_models"].splitlines() if line.strip()]

    def clean_tasks(self):
        try:
            data = json.loads(self.cleaned_data["tasks"])
        except ValueError as exc:
            raise forms.ValidationError(f"The tasks are not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        # The export's task shape is accepted as it is, so a pipeline's file can be pasted back.
        return [_short_form(task) for task in data] if isinstance(data, list) else data


def _short_form(task):
    if not isinstance(task, dict):
        return task
    task = dict(task)
    dataset = task.get("dataset")
    if isinstance(dataset, dict):
        task["dataset"] = dataset.get("name")
        task.setdefault("sample_ids", dataset.get("sample_ids"))
    config = task.pop("generate_config", None)
    if isinstance(config, dict):
        for key in ("temperature", "max_tokens", "seed"):
            task.setdefault(key, config.get(key))
    return task


def initial_from(version: ProtocolVersion | None) -> dict:
    if version is None:
        return {}
    tasks = [
        {
            "task": t.task_name,
            "task_version": t.task_version,
            "dataset": t.dataset_name,
            "sample_ids": t.sample_ids,
            "scorers": t.scorers,
            "metrics": t.metrics,
            "epochs": t.epochs,
            "temperature": t.temperature,
            "max_tokens": t.max_tokens,
            "seed": t.seed,
            "solver": t.solver,
        }
        for t in version.tasks.all()
    ]
    return {
        "target_model": version.target_model,
        "reference_models": "\n".join(version.reference_models),
        "tasks": json.dumps(tasks, indent=2),
        "notes": version.notes,
    }


class SignForm(forms.Form):
    digest = forms.CharField(max_length=64, min_length=64)


class AdvanceForm(forms.Form):
    to = forms.ChoiceField(choices=Exercise.Phase.choices)
