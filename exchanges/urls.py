from __future__ import annotations

from django.urls import path

from . import views

app_name = "exchanges"

urlpatterns = [
    path("", views.secondment_list, name="list"),
    path("propose/", views.secondment_propose, name="propose"),
    path("<uuid:code>/", views.secondment_detail, name="detail"),
    path("<uuid:code>/approve/", views.secondment_approve, name="approve"),
    path("<uuid:code>/end/", views.secondment_end, name="end"),
    path("<uuid:code>/extend/", views.secondment_extend, name="extend"),
    path("<uuid:code>/extend/approve/", views.secondment_extension_approve, name="extension_approve"),
    path("<uuid:code>/switch/", views.secondment_switch, name="switch"),
    path("<uuid:code>/handover/", views.secondment_handover, name="handover"),
]
