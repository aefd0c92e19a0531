from __future__ import annotations

from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "evals"
    verbose_name = "Evaluation results"

    def ready(self) -> None:
        # Modules that use models are importable only once the app registry is ready.
        from sharing.panels import add_document_panel

        from . import signals  # noqa: F401  (connects the receivers)
        from .tasks import register_work
        from .views import document_results_panel

        add_document_panel("evals/includes/document_runs.html", document_results_panel)
        register_work()
