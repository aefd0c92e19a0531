from __future__ import annotations

from django import forms

from accounts.models import Organisation, Tier, User
from sharing.models import SharingAgreement
from sharing.policy import visible_agreements

from .models import Secondment


class ProposeForm(forms.Form):
    """A proposal. The person is named by email, never picked from a list: an admin learns no
    other organisation's members from it, and a missing address reads like one of another
    organisation."""

    person = forms.EmailField(label="Person (their email address)")
    home = forms.ModelChoiceField(queryset=Organisation.objects.filter(is_active=True), to_field_name="code")
    host = forms.ModelChoiceField(queryset=Organisation.objects.filter(is_active=True), to_field_name="code")
    agreement = forms.ModelChoiceField(queryset=SharingAgreement.objects.none(), to_field_name="code")
    starts_at = forms.DateTimeField()
    ends_at = forms.DateTimeField()
    role = forms.ChoiceField(choices=Secondment.Role.choices)
    clearance = forms.ModelChoiceField(queryset=Tier.objects.all(), to_field_name="code")
    purpose = forms.CharField(widget=forms.Textarea, max_length=2000)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only agreements the actor's organisation is party to, and that allow exchanges.
        self.fields["agreement"].queryset = visible_agreements(user).filter(personnel_exchanges=True)

    def clean(self):
        data = super().clean()
        home, email = data.get("home"), data.get("person")
        if home is not None and email:
            person = User.objects.filter(email__iexact=email, organisation=home, is_active=True).first()
            if person is None:
                self.add_error("person", "No active member of the home organisation has this email address.")
            data["person"] = person
        return data


class ExtendForm(forms.Form):
    ends_at = forms.DateTimeField()


class SwitchForm(forms.Form):
    to = forms.ChoiceField(choices=[("home", "home"), ("host", "host")])
