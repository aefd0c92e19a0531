from __future__ import annotations

from django.urls import path

from .views import access, agreements, attachments, documents, markings, release_updates, releases, tiers

app_name = "sharing"

urlpatterns = [
    path("tiers.css", tiers.tiers_css, name="tiers_css"),
    # Documents
    path("documents/", documents.document_list, name="document_list"),
    path("documents/new/", documents.document_create, name="document_create"),
    path("documents/<uuid:code>/", documents.document_detail, name="document_detail"),
    path("documents/<uuid:code>/edit/", documents.document_edit, name="document_edit"),
    path("documents/<uuid:code>/access/", access.access_history, name="document_access"),
    path("documents/<uuid:code>/access.csv", access.access_history_export, name="document_access_export"),
    path("documents/<uuid:code>/publish/", documents.document_publish, name="document_publish"),
    path("documents/<uuid:code>/withdraw/", documents.document_withdraw, name="document_withdraw"),
    path("documents/<uuid:code>/upload/", documents.document_attachments, name="document_attachments"),
    path("documents/markings/<uuid:code>/approve/", markings.marking_approve, name="marking_approve"),
    path("documents/markings/<uuid:code>/refuse/", markings.marking_refuse, name="marking_refuse"),
    # Attachments: upload (streamed through the encrypting handler), download, destroy
    path("documents/<uuid:code>/attachments/", attachments.attachment_upload, name="attachment_upload"),
    path("documents/attachments/<uuid:code>/download/", attachments.attachment_download, name="attachment_download"),
    path("documents/attachments/<uuid:code>/destroy/", attachments.attachment_destroy_view, name="attachment_destroy"),
    # Releases
    path("documents/<uuid:code>/release/", releases.release_request, name="release_request"),
    path("releases/", releases.release_queue, name="release_queue"),
    path("releases/<uuid:code>/approve/", releases.release_approve, name="release_approve"),
    path("releases/<uuid:code>/refuse/", releases.release_refuse, name="release_refuse"),
    path("releases/<uuid:code>/revoke/", releases.release_revoke, name="release_revoke"),
    path("releases/<uuid:code>/reinstate/", releases.release_reinstate, name="release_reinstate"),
    path("releases/<uuid:code>/update/", release_updates.release_update, name="release_update"),
    path("releases/<uuid:code>/update/approve/", release_updates.release_update_approve, name="release_update_approve"),
    path("releases/<uuid:code>/update/decline/", release_updates.release_update_decline, name="release_update_decline"),
    # Agreements
    path("agreements/", agreements.agreement_list, name="agreement_list"),
    path("agreements/new/", agreements.agreement_create, name="agreement_create"),
    path("agreements/<uuid:code>/", agreements.agreement_detail, name="agreement_detail"),
    path("agreements/<uuid:code>/mou/", agreements.agreement_mou, name="agreement_mou"),
    path("agreements/<uuid:code>/sign/", agreements.agreement_sign, name="agreement_sign"),
    path("agreements/<uuid:code>/suspend/", agreements.agreement_suspend, name="agreement_suspend"),
    path("agreements/<uuid:code>/resume/", agreements.agreement_resume, name="agreement_resume"),
    path("agreements/<uuid:code>/terminate/", agreements.agreement_terminate, name="agreement_terminate"),
]
