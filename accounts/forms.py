from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from .models import Compartment, Country, Tier, User
from .roles import Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )

    error_messages = {
        "invalid_login": "Enter a correct email address and password.",
        "inactive": "This account is inactive.",
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class TokenForm(forms.Form):
    token = forms.RegexField(
        label="Six-digit code from your authenticator app",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "Enter the six-digit code."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


# Organisation-admin forms. Dates are whole days: a clearance "until 31 March" lasts through
# that day and ends at midnight UTC after it.


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


class DateInput(forms.DateInput):
    input_type = "date"


class ClearanceGrantForm(forms.Form):
    tier = forms.ModelChoiceField(queryset=Tier.objects.all(), empty_label=None, label="Tier")
    valid_until = forms.DateField(label="Cleared until (inclusive)", widget=DateInput)
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_valid_until(self) -> datetime:
        return end_of_day(self.cleaned_data["valid_until"])


class ClearanceRenewForm(forms.Form):
    valid_until = forms.DateField(label="Renew until (inclusive)", widget=DateInput)
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_valid_until(self) -> datetime:
        return end_of_day(self.cleaned_data["valid_until"])


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason (optional)", max_length=500, required=False)


class ReadInForm(forms.Form):
    """An owner's admin reads a member in: only the compartments the organisation owns are
    offered, so any other code (unknown or not the organisation's) is the same invalid choice."""

    compartment = forms.ModelChoiceField(queryset=Compartment.objects.none(), label="Compartment")
    expires_on = forms.DateField(label="Read in until (optional, inclusive)", required=False, widget=DateInput)

    def __init__(self, *args, compartments=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if compartments is not None:
            self.fields["compartment"].queryset = compartments

    def clean_expires_on(self) -> datetime | None:
        day = self.cleaned_data["expires_on"]
        return end_of_day(day) if day else None


class NominationForm(forms.Form):
    """A partner admin nominates one of their people for a compartment another organisation owns
    and theirs can see; any other compartment (unknown or unseen) is the same invalid choice."""

    member = forms.ModelChoiceField(queryset=User.objects.none(), label="Person")
    compartment = forms.ModelChoiceField(queryset=Compartment.objects.none(), label="Compartment")
    expires_on = forms.DateField(label="Read in until (optional, inclusive)", required=False, widget=DateInput)

    def __init__(self, *args, members, compartments, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["compartment"].queryset = compartments

    def clean_expires_on(self) -> datetime | None:
        day = self.cleaned_data["expires_on"]
        return end_of_day(day) if day else None


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class MemberCreateForm(forms.Form):
    email = forms.EmailField(label="Email address")
    display_name = forms.CharField(label="Full name", max_length=150)
    nationality = forms.ModelChoiceField(queryset=Country.objects.all(), label="Nationality", to_field_name="code")


class AccordPasswordResetForm(PasswordResetForm):
    """New accounts have no usable password until the person sets one through this form, so
    they are included; inactive accounts are not."""

    def get_users(self, email):
        email = (email or "").strip().lower()
        return (u for u in User.objects.filter(email__iexact=email, is_active=True) if u.email.lower() == email)


class KeyNameForm(forms.Form):
    name = forms.CharField(label="Name", max_length=64)
