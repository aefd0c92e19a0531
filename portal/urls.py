from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from sharing.views.home import home

from . import health

urlpatterns = [
    path("", home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("accounts.urls")),
    path("accounts/webauthn/", include(("accounts.webauthn", "otp_webauthn"))),
    path("audit/", include("audit.urls")),
    path("api/", include("api.urls")),
    path("results/", include("evals.urls")),
    path("exercises/", include("exercises.urls")),
    path("secondments/", include("exchanges.urls")),
    path("", include("sharing.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "sharing.views.errors.forbidden"
handler404 = "sharing.views.errors.not_found"
# A database that cannot be reached answers 503 with a calm page; anything else is a 500.
handler500 = "portal.errors.server_error"
