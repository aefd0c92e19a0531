from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from sharing.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("sharing.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "sharing.views.errors.forbidden"
handler404 = "sharing.views.errors.not_found"
handler500 = "sharing.views.errors.server_error"
