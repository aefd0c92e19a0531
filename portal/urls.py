from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("admin/", admin.site.urls),
    path("documents/", include("sharing.urls")),
    path("api/", include("api.urls")),
]

# A database that cannot be reached answers 503 with a calm page; anything else is a 500.
handler500 = "portal.errors.server_error"
