"""The filter bar of the results page and the metric picker of a task comparison."""

from __future__ import annotations

from django import forms

from sharing.models import RiskDomain


class ResultFilterForm(forms.Form):
    """`cleaned_data` feeds `selectors.filter_runs(runs, **form.cleaned_data)`. The model, task
    and metric choices are those among the runs the user may see, so the form reveals nothing."""

    text = forms.CharField(
        label="Search", max_length=200, required=False, help_text="Task, model, dataset or document title"
    )
    model = forms.ChoiceField(required=False)
    task = forms.ChoiceField(required=False)
    risk_domain = forms.ChoiceField(required=False)
    metric = forms.ChoiceField(label="Score", required=False)
    min_value = forms.FloatField(label="Score at least", required=False)
    max_value = forms.FloatField(label="Score at most", required=False)

    def __init__(self, *args, models=(), tasks=(), metrics=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "Any model"), *((m, m) for m in models)]
        self.fields["task"].choices = [("", "Any task"), *((t, t) for t in tasks)]
        self.fields["risk_domain"].choices = [("", "Any topic"), *RiskDomain.objects.values_list("code", "name")]
        self.fields["risk_domain"].label = "Risk domain"
        self.fields["metric"].choices = [("", "Any score"), *((m, m) for m in metrics)]
        for name in ("min_value", "max_value"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "step": "any"})

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("min_value"), data.get("max_value")
        if (low is not None or high is not None) and not data.get("metric"):
            self.add_error("metric", "Choose the score the range applies to.")
        if low is not None and high is not None and low > high:
            self.add_error("max_value", "The highest score is below the lowest.")
        return data


class SeriesForm(forms.Form):
    """Which score a comparison plots; the choices are the task's own scores."""

    series = forms.ChoiceField(label="Score to plot", required=False)

    def __init__(self, *args, series=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = [(s.key, s.label) for s in series]
