from __future__ import annotations

from django import forms

from accounts.models import Organisation, Tier, User
from sharing.models import SharingAgreement

from .models import Secondment


class ProposeForm(forms.Form):
    person = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True), to_field_name="code")
    home = forms.ModelChoiceField(queryset=Organisation.objects.filter(is_active=True), to_field_name="code")
    host = forms.ModelChoiceField(queryset=Organisation.objects.filter(is_active=True), to_field_name="code")
    agreement = forms.ModelChoiceField(
        queryset=SharingAgreement.objects.filter(personnel_exchanges=True), to_field_name="code"
    )
    starts_at = forms.DateTimeField()
    ends_at = forms.DateTimeField()
    role = forms.ChoiceField(choices=Secondment.Role.choices)
    clearance = forms.ModelChoiceField(queryset=Tier.objects.all(), to_field_name="code")
    purpose = forms.CharField(widget=forms.Textarea, max_length=2000)


class ExtendForm(forms.Form):
    ends_at = forms.DateTimeField()


class SwitchForm(forms.Form):
    to = forms.ChoiceField(choices=[("home", "home"), ("host", "host")])
