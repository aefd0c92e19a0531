"""Forms for writing and finding documents.

`DocumentForm` offers only the markings its author could apply: tiers at or below their
clearance now, compartments they are read in to now. The services check the same rules again;
the form just keeps impossible choices off the screen. It is a plain Form, not a ModelForm, so
validating it never touches the document the service will compare against.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q

from accounts.models import Compartment, Country, Organisation, Tier, User, clearance_of

from .models import Caveat, Document, RiskDomain
from .services.document_rules import BODY_MAX_CHARS


class DocumentForm(forms.Form):
    """Create (`document=None`) or edit a document. `cleaned_data` matches the services' arguments:
    `document_create(actor=user, **form.cleaned_data)` or
    `document_update(actor=user, document=doc, **form.cleaned_data)`."""

    title = forms.CharField(max_length=300)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 20}), required=False, max_length=BODY_MAX_CHARS, help_text="Markdown."
    )
    model_developer = forms.CharField(label="Model developer", max_length=120, required=False)
    model_name = forms.CharField(label="Model name", max_length=120, required=False)
    model_version = forms.CharField(label="Model version", max_length=60, required=False)
    risk_domains = forms.ModelMultipleChoiceField(
        queryset=RiskDomain.objects.all(), widget=forms.CheckboxSelectMultiple, required=False
    )
    tier = forms.ModelChoiceField(queryset=Tier.objects.none(), empty_label=None)
    releasable_to = forms.ModelMultipleChoiceField(
        queryset=Country.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Releasable to",
        help_text="The originating organisation's country is always included.",
    )
    compartments = forms.ModelMultipleChoiceField(
        queryset=Compartment.objects.none(), widget=forms.CheckboxSelectMultiple, required=False
    )
    caveats = forms.ModelMultipleChoiceField(
        queryset=Caveat.objects.all(), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, author: User, document: Document | None = None, **kwargs) -> None:
        self.author = author
        self.document = document
        if document is not None:
            kwargs.setdefault("initial", initial_from(document))
        super().__init__(*args, **kwargs)
        originator = document.originator if document else author.organisation
        clearance = clearance_of(author)
        self.fields["tier"].queryset = (
            Tier.objects.filter(rank__lte=clearance.rank) if clearance else Tier.objects.none()
        )
        read_in = Compartment.objects.filter(pk__in=author.read_ins.valid_now().values("compartment_id")).order_by(
            "code"
        )
        self.fields["compartments"].queryset = read_in
        # Partner countries (those with an active organisation), plus any already on the marking.
        partner_countries = Q(organisations__is_active=True)
        if document is not None:
            partner_countries |= Q(pk__in=document.releasable_to.values("pk"))
        self.fields["releasable_to"].queryset = Country.objects.filter(partner_countries).distinct()
        self.originator_country = originator.country if originator else None
        if self.originator_country is not None and not self.is_bound:
            self.initial.setdefault("releasable_to", [self.originator_country.pk])
        if document is not None:
            self.fields["base_revision"] = forms.IntegerField(widget=forms.HiddenInput, initial=document.revision)

    def clean_releasable_to(self) -> list[Country]:
        countries = list(self.cleaned_data.get("releasable_to") or [])
        if self.originator_country is not None and self.originator_country not in countries:
            countries.append(self.originator_country)
        return countries


def initial_from(document: Document) -> dict:
    return {
        "title": document.title,
        "summary": document.summary,
        "body": document.body,
        "model_developer": document.model_developer,
        "model_name": document.model_name,
        "model_version": document.model_version,
        "risk_domains": list(document.risk_domains.all()),
        "tier": document.tier_id,
        "releasable_to": [c.pk for c in document.releasable_to.all()],
        "compartments": list(document.compartments.all()),
        "caveats": list(document.caveats.all()),
    }


class WithdrawForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class DocumentFilterForm(forms.Form):
    """The search and filter bar of a document list. `cleaned_data` feeds
    `selectors.filter_documents(queryset, **form.cleaned_data)`."""

    text = forms.CharField(label="Search", max_length=200, required=False)
    tier = forms.ModelChoiceField(queryset=Tier.objects.all(), required=False)
    risk_domain = forms.ChoiceField(required=False)
    model_developer = forms.CharField(max_length=120, required=False)
    model_name = forms.CharField(max_length=120, required=False)
    originator = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(is_active=True), to_field_name="short_name", required=False
    )
    status = forms.ChoiceField(choices=[("", "Any status"), *Document.Status.choices], required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["risk_domain"].choices = [("", "Any topic"), *RiskDomain.objects.values_list("code", "name")]

    def clean(self) -> dict:
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise forms.ValidationError("The start date is after the end date.")
        return data
