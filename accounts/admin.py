from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action
from audit.services import record

from .models import ClearanceGrant, Compartment, Country, Organisation, ReadIn, Tier, User
from .services import credentials_end, has_security_key
from .services.credentials import password_change_by


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """No object-permission pages (guardian's GuardedModelAdmin): roles are granted only through
    `services.role_grant` (the organisation's member pages), which audits the grant and says when
    the person must enrol a security key first. An admin page writing guardian rows directly did
    neither."""

    list_display = ["short_name", "name", "country", "is_active"]
    list_filter = ["is_active", "country"]
    search_fields = ["name", "short_name"]
    readonly_fields = ["code"]

    def save_model(self, request, obj, form, change) -> None:
        # Switching an organisation off suspends all its people at once: every session and API
        # token of every member ends, in the same transaction, audited.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and "is_active" in form.changed_data and not obj.is_active:
                members = list(obj.members.all())
                for member in members:
                    credentials_end(actor=request.user, user=member, reason="organisation_suspended")
                details = {"is_active": False, "members_signed_out": len(members)}
                record(Action.ORG_UPDATED, actor=request.user, target=obj, details=details)


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["rank", "code", "name", "colour", "two_person"]


@admin.register(Compartment)
class CompartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "owner"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "organisation", "nationality", "is_active", "is_staff"]
    list_filter = ["organisation", "is_active", "is_staff"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["display_name", "organisation", "nationality"]}),
        ("Status", {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "display_name", "organisation", "nationality", "password1", "password2"],
            },
        ),
    ]

    def user_change_password(self, request, id, form_url=""):
        # A password set here is a reset like the emailed link's: every session and API token
        # made with the old one ends with it, audited; the admin's own session, if it was their
        # own password, goes on under the new hash as Django keeps it.
        with transaction.atomic(), password_change_by(request.user, "admin"):
            response = super().user_change_password(request, id, form_url)
        return response

    def save_model(self, request, obj, form, change) -> None:
        # Switching an account off here is a deactivation like the organisation admin's: every
        # session and API token of it ends, in the same transaction, audited.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and "is_active" in form.changed_data and not obj.is_active:
                credentials_end(actor=request.user, user=obj, reason="deactivated")
                record(Action.USER_DEACTIVATED, actor=request.user, target=obj, details={"via": "admin"})
        if "is_staff" in form.changed_data and form.cleaned_data.get("is_staff") and not has_security_key(obj):
            # Portal staff act only in a session verified with a key (accounts/roles.py decides on
            # the flag; this only reads what the form just set), as the organisation admin's role
            # grant says for the roles it gives.
            messages.warning(
                request,
                f"{obj.display_name or obj.email} must enrol a security key or passkey (on their security page) "
                "and sign in with it before they can act as a portal admin.",
            )


# django-otp's own admin would let a portal admin re-key or add a person's device, and delete one
# while the person's sessions and tokens live on (a stolen session then enrols a device of its
# own). Here devices are seen without their secrets (OTP_ADMIN_HIDE_SENSITIVE_DATA) and only
# deleted, and a deletion is an MFA reset like the organisation admin's: every session and API
# token of the person ends with it, audited.
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(TOTPDeviceAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, TOTPDevice.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            devices: dict[int, int] = {}
            for user_id in queryset.values_list("user_id", flat=True):
                devices[user_id] = devices.get(user_id, 0) + 1
            super().delete_queryset(request, queryset)
            for user in User.objects.filter(pk__in=devices):
                credentials_end(actor=request.user, user=user, reason="mfa_reset")
                details = {"devices": devices[user.pk], "via": "admin"}
                record(Action.AUTH_MFA_RESET, actor=request.user, target=user, details=details)


@admin.register(ClearanceGrant)
class ClearanceGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "tier", "status", "valid_from", "valid_until", "revoked_at"]
    list_filter = ["status", "tier"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Clearances change only through the services, which enforce the rules and audit.
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ReadIn)
class ReadInAdmin(admin.ModelAdmin):
    list_display = ["user", "compartment", "granted_at", "expires_at", "revoked_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
