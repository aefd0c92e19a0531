from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from guardian.admin import GuardedModelAdmin

from .models import ClearanceGrant, Compartment, Country, Organisation, ReadIn, Tier, User


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Organisation)
class OrganisationAdmin(GuardedModelAdmin):
    list_display = ["short_name", "name", "country", "is_active"]
    list_filter = ["is_active", "country"]
    search_fields = ["name", "short_name"]
    readonly_fields = ["code"]


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
