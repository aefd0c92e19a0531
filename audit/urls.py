from __future__ import annotations

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.events, name="events"),
    path("export.<str:fmt>", views.export, name="export"),
    path("checkpoints.json", views.checkpoints, name="checkpoints"),
    path("public-key.pem", views.public_key, name="public_key"),
]
