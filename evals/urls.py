from __future__ import annotations

from django.urls import path

from . import views

app_name = "evals"

urlpatterns = [
    path("", views.result_list, name="results"),
    path("compare/", views.task_compare, name="results_compare"),
]
