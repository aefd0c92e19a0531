from __future__ import annotations

from django.urls import path

from . import views

app_name = "exercises"

urlpatterns = [
    path("", views.exercise_list, name="list"),
    path("new/", views.exercise_create, name="create"),
    path("<uuid:code>/", views.exercise_detail, name="detail"),
    path("<uuid:code>/advance/", views.exercise_advance, name="advance"),
    path("<uuid:code>/protocol/", views.protocol_edit, name="protocol_edit"),
    path("<uuid:code>/runs/", views.run_create, name="run_create"),
    path("protocols/<uuid:code>/sign/", views.protocol_sign, name="protocol_sign"),
    path("protocols/<uuid:code>/export.json", views.protocol_export, name="protocol_export"),
]
