from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import errors
from .views import (
    agreements,
    attachments,
    docs,
    documents,
    evals,
    exercises,
    org_tokens,
    releases,
    secondments,
    sessions,
    tokens,
)

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.ApiDocsView.as_view(), name="docs"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<uuid:code>/revoke/", tokens.token_revoke_view, name="token_revoke"),
    # The person's sessions and tokens, each ended there (a session page too).
    path("sessions/", sessions.sessions, name="sessions"),
    path("sessions/<uuid:code>/end/", sessions.session_end_view, name="session_end"),
    # The organisation admin's view of its members' tokens (a session page, like the one above).
    path("org/tokens/", org_tokens.member_tokens, name="org_tokens"),
    path("org/tokens/<uuid:code>/revoke/", org_tokens.member_token_revoke, name="org_token_revoke"),
    # v1
    path("v1/documents/", documents.DocumentListView.as_view(), name="document_list"),
    path("v1/documents/<uuid:code>/", documents.DocumentDetailView.as_view(), name="document_detail"),
    path("v1/documents/<uuid:code>/publish/", documents.DocumentPublishView.as_view(), name="document_publish"),
    path(
        "v1/documents/<uuid:code>/attachments/",
        attachments.DocumentAttachmentsView.as_view(),
        name="document_attachments",
    ),
    # The same upload with the name in the path, as `curl -T file …/attachments/` sends it.
    path(
        "v1/documents/<uuid:code>/attachments/<str:filename>",
        attachments.NamedAttachmentUploadView.as_view(),
        name="document_attachment_named",
    ),
    path(
        "v1/attachments/<uuid:code>/download/",
        attachments.AttachmentDownloadView.as_view(),
        name="attachment_download",
    ),
    path("v1/eval-runs/", evals.EvalRunListView.as_view(), name="eval_run_list"),
    path("v1/eval-runs/<uuid:code>/", evals.EvalRunDetailView.as_view(), name="eval_run_detail"),
    path("v1/releases/", releases.ReleaseListView.as_view(), name="release_list"),
    path("v1/releases/<uuid:code>/", releases.ReleaseDetailView.as_view(), name="release_detail"),
    path("v1/releases/<uuid:code>/approve/", releases.ReleaseApproveView.as_view(), name="release_approve"),
    path("v1/releases/<uuid:code>/refuse/", releases.ReleaseRefuseView.as_view(), name="release_refuse"),
    path("v1/releases/<uuid:code>/revoke/", releases.ReleaseRevokeView.as_view(), name="release_revoke"),
    path(
        "v1/releases/<uuid:code>/update/approve/",
        releases.ReleaseUpdateApproveView.as_view(),
        name="release_update_approve",
    ),
    path(
        "v1/releases/<uuid:code>/update/decline/",
        releases.ReleaseUpdateDeclineView.as_view(),
        name="release_update_decline",
    ),
    path("v1/agreements/", agreements.AgreementListView.as_view(), name="agreement_list"),
    path("v1/agreements/<uuid:code>/", agreements.AgreementDetailView.as_view(), name="agreement_detail"),
    path("v1/exercises/", exercises.ExerciseListView.as_view(), name="exercise_list"),
    path("v1/exercises/<uuid:code>/", exercises.ExerciseDetailView.as_view(), name="exercise_detail"),
    path("v1/exercises/<uuid:code>/runs/", exercises.ExerciseRunsView.as_view(), name="exercise_runs"),
    path("v1/protocols/<uuid:code>/", exercises.ProtocolVersionView.as_view(), name="protocol_detail"),
    path("v1/secondments/", secondments.SecondmentListView.as_view(), name="secondment_list"),
    # Anything else under /api/ answers the API's JSON 404, not the portal's HTML page.
    re_path(r"^v1/", errors.not_found, name="not_found"),
]
