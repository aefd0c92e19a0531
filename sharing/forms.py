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
    tier = forms.ModelChoiceField(
        queryset=Tier.objects.none(),
        empty_label="Choose a tier",
        error_messages={"required": "Choose a tier: every finding is marked, and nothing is marked for you."},
    )
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
        country = originator.country_id if originator else None
        self.fields["tier"].label_from_instance = lambda tier: tier.label_for(country)
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
        if self.originator_country is not None:
            # Shown ticked and fixed: it cannot be taken off (clean_releasable_to adds it back).
            self.fields["releasable_to"].always = [str(self.originator_country.pk)]
            if not self.is_bound:
                self.initial.setdefault("releasable_to", [self.originator_country.pk])
        if document is not None:
            # An edit keeps the tier it has; only a new finding starts with none chosen.
            self.fields["tier"].empty_label = None
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

    def __init__(self, *args, country: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["risk_domain"].choices = [("", "Any topic"), *RiskDomain.objects.values_list("code", "name")]
        # Tiers in the reader's country's words, as the banners say them.
        self.fields["tier"].label_from_instance = lambda tier: tier.label_for(country)

    def clean(self) -> dict:
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise forms.ValidationError("The start date is after the end date.")
        return data


_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def _utc_datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=_DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "Enter a date and time, for example 2026-01-31 09:00."},
    )


class AgreementForm(forms.Form):
    """A portal admin's draft of a sharing agreement. `cleaned_data` (less `mou`) matches
    `agreement_create`'s arguments; the service checks every rule again and audits."""

    reference = forms.CharField(max_length=60, help_text="The MoU's own reference, for example UK-US-2026-01.")
    title = forms.CharField(max_length=200)
    parties = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.filter(is_active=True).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        help_text="Two or more organisations. The agreement is active once an admin of each has signed.",
        error_messages={"required": "Choose the organisations that are party to the agreement."},
    )
    effective_from = _utc_datetime_field("In force from (UTC)")
    expires_at = _utc_datetime_field("Expires at (UTC)")
    tier_ceiling = forms.ModelChoiceField(
        queryset=Tier.objects.order_by("rank"), label="Highest tier it carries", empty_label=None
    )
    risk_domains = forms.ModelMultipleChoiceField(
        queryset=RiskDomain.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        label="Permitted risk domains",
        error_messages={"required": "Choose at least one risk domain the agreement covers."},
    )
    onward_sharing = forms.BooleanField(required=False, label="Recipients may share onward (never for ORCON documents)")
    personnel_exchanges = forms.BooleanField(
        required=False, label="The parties may second people to each other (personnel exchanges)"
    )
    seconded_staff_read_partner_material = forms.BooleanField(
        required=False, label="A secondee acting for a host may read what the host received under this agreement"
    )
    retention_days = forms.IntegerField(label="Retention (days)", min_value=1, max_value=36500, initial=365 * 5)
    mou = forms.FileField(
        required=False,
        label="Signed MoU (optional)",
        help_text="Encrypted as it arrives; parties of the agreement may download it once it has been checked.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parties"].label_from_instance = lambda org: (
            f"{org.name} ({org.short_name.upper()}, {org.country_id})"
        )

    def clean_parties(self):
        parties = self.cleaned_data["parties"]
        if len(parties) < 2:
            raise forms.ValidationError("Choose two or more organisations.")
        return parties

    def clean(self):
        data = super().clean()
        start, end = data.get("effective_from"), data.get("expires_at")
        if start and end and end <= start:
            self.add_error("expires_at", "The agreement must expire after it comes into force.")
        return data
