"""The Django admin for portal admins: staff, signed in with password and a verified TOTP code."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django_otp.admin import OTPAdminSite

from outbox.reconcile import backlog

from .roles import is_portal_admin


class AccordAdminSite(OTPAdminSite):
    site_header = "Accord portal administration"
    site_title = "Accord admin"
    index_title = "Organisations, people and the classification ladder"

    def __init__(self, name: str = "admin") -> None:
        # OTPAdminSite defaults to the name "otpadmin"; the URL names stay "admin:…".
        super().__init__(name)

    def has_permission(self, request) -> bool:
        # OTPAdminSite's own rule (active, staff, verified), stated once in roles.py.
        return is_portal_admin(request.user)

    def login(self, request, extra_context=None):
        # One sign-in journey for everyone (password, then TOTP, with lockout and audit), never
        # the admin's own form. Someone already signed in is simply not a portal admin.
        if request.user.is_authenticated:
            raise PermissionDenied("Portal admins only.")
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"), reverse("accounts:login"))

    def get_urls(self):
        return [path("health/", self.admin_view(self.health_view), name="health"), *super().get_urls()]

    def health_view(self, request):
        """Background work by kind: how much waits, the oldest's age, and its deadline."""
        rows = [
            {"kind": kind, **row, "overdue": (row["oldest_seconds"] or 0) > row["deadline_seconds"]}
            for kind, row in sorted(backlog().items())
        ]
        context = {**self.each_context(request), "title": "Background work", "rows": rows}
        return TemplateResponse(request, "admin/health.html", context)
