from __future__ import annotations

from django import forms

from .models import Action, Outcome

_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class EventFilterForm(forms.Form):
    """The audit viewer's filters (GET). Organisations offered are only those in scope."""

    actor = forms.CharField(required=False, max_length=100, help_text="Part of a name or email address")
    organisation = forms.ModelChoiceField(queryset=None, required=False, to_field_name="code", empty_label="Any")
    action = forms.ChoiceField(required=False, choices=[("", "Any")] + list(Action.choices))
    outcome = forms.ChoiceField(required=False, choices=[("", "Any")] + list(Outcome.choices))
    target = forms.CharField(
        required=False,
        max_length=100,
        help_text="A target's id, or part of its name (documents, releases and files by id)",
    )
    since = forms.DateTimeField(
        required=False,
        label="From (UTC)",
        input_formats=_DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    until = forms.DateTimeField(
        required=False,
        label="Until (UTC)",
        input_formats=_DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise forms.ValidationError("“From” must be before “Until”.")
        return data

    def summary(self) -> dict[str, str]:
        """The filters in use, as plain text for the audit event recording the view."""
        data = getattr(self, "cleaned_data", {}) or {}
        return {
            name: str(getattr(value, "code", value))
            for name, value in data.items()
            if value not in (None, "") and name not in {"before", "after"}
        }
