from __future__ import annotations

from django import forms
from django.conf import settings


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="Where the token is used, e.g. “nightly eval pipeline”"
    )
    read = forms.BooleanField(label="Read: list and fetch findings, files, results", required=False, initial=True)
    write = forms.BooleanField(label="Write: create and change findings, upload files, releases", required=False)
    decide = forms.BooleanField(
        label="Decide: approve releases (lives 8 hours; only right after you use your security key)", required=False
    )
    days = forms.IntegerField(label="Expires after (days)", min_value=1, initial=90)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].widget.attrs["max"] = settings.ACCORD_API_TOKEN_MAX_DAYS

    def clean_days(self):
        days = self.cleaned_data["days"]
        if days > settings.ACCORD_API_TOKEN_MAX_DAYS:
            raise forms.ValidationError(f"A token lives at most {settings.ACCORD_API_TOKEN_MAX_DAYS} days.")
        return days

    def clean(self):
        data = super().clean()
        if not data.get("read") and not data.get("write") and not data.get("decide"):
            raise forms.ValidationError("Choose at least one scope.")
        return data

    def scopes(self) -> list[str]:
        return [scope for scope in ("read", "write", "decide") if self.cleaned_data.get(scope)]
