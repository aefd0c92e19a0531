from __future__ import annotations

from django.urls import path

from .views import attachments

app_name = "sharing"

urlpatterns = [
    # Attachments
    path("<uuid:code>/attachments/", attachments.attachment_upload, name="attachment_upload"),
    path("attachments/<uuid:code>/download/", attachments.attachment_download, name="attachment_download"),
    path("attachments/<uuid:code>/destroy/", attachments.attachment_destroy_view, name="attachment_destroy"),
]
