"""Releases: list and read, request, and the release officer's approve, refuse and revoke.

Requests go through `policy.can_request_release` (who may ask: a 403 when refused) and then the
release service, which refuses what the agreement cannot carry (a 400 naming why); decisions go
through the release services, whose policy checks answer 403 for the wrong person.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from audit.services import refuse
from sharing.models import Release
from sharing.policy import (
    agreement_for_party,
    can_request_release,
    document_for_reader,
    release_for_update,
    release_for_user,
    visible_releases,
)
from sharing.services.listings import documents_listed
from sharing.services.release_updates import release_update_approve, release_update_decline
from sharing.services.releases import release_approve, release_refuse, release_request, release_revoke

from ..listings import page_objects
from ..permissions import DecideScope, TokenScope
from ..serializers import DecisionSerializer, ReleaseRequestSerializer, ReleaseSerializer, UpdateDecisionSerializer


def _agreement_in_request(user, code):
    """The named agreement, or a 400 on the field (a 404 would read as "no such endpoint")."""
    try:
        return agreement_for_party(user, code)
    except Http404:
        raise exceptions.ValidationError({"agreement": ["No such agreement."]}) from None


class ReleaseListView(generics.ListAPIView):
    serializer_class = ReleaseSerializer

    def get_queryset(self) -> QuerySet[Release]:
        return (
            visible_releases(self.request.user)
            .select_related("document", "agreement", "recipient", "requested_by")
            .prefetch_related("audience")
            .order_by("-requested_at", "-pk")
        )

    @extend_schema(operation_id="releases_list")
    def get(self, request, *args, **kwargs):
        """Releases of documents you may read, sent by or to your organisation."""
        response = self.list(request, *args, **kwargs)
        releases = page_objects(self)
        documents_listed(actor=request.user, documents=[r.document for r in releases], page="releases", via="api")
        return response

    @extend_schema(
        operation_id="releases_request",
        request=ReleaseRequestSerializer,
        responses={201: ReleaseSerializer(many=True)},
    )
    def post(self, request):
        """Ask for a published document to be released to partner organisations under an agreement."""
        serializer = ReleaseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        document = document_for_reader(request.user, data["document"])
        agreement = _agreement_in_request(request.user, data["agreement"])
        decision = can_request_release(request.user, document, agreement)
        if not decision:
            refuse(
                request.user,
                Action.RELEASE_REQUESTED,
                document,
                decision.refusal,
                error=PermissionDenied(f"You may not request this release: {decision.sentence}."),
                details={"agreement": agreement.reference, "via": "api"},
            )
        releases = release_request(
            actor=request.user,
            document=document,
            agreement=agreement,
            recipients=data["recipients"],
            audience=data.get("audience") or None,
            justification=data["justification"],
            expires_at=data.get("expires_at"),
        )
        return Response(ReleaseSerializer(releases, many=True).data, status=status.HTTP_201_CREATED)


class ReleaseDetailView(APIView):
    @extend_schema(operation_id="releases_retrieve", responses=ReleaseSerializer)
    def get(self, request, code):
        return Response(ReleaseSerializer(release_for_user(request.user, code)).data)


def _decision_view(operation: str, service, summary: str, *, decides: bool = False):
    class DecisionView(APIView):
        permission_classes = [TokenScope, DecideScope] if decides else [TokenScope]

        @extend_schema(operation_id=f"releases_{operation}", request=DecisionSerializer, responses=ReleaseSerializer)
        def post(self, request, code):
            release = release_for_user(request.user, code)
            serializer = DecisionSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            release = service(actor=request.user, release=release, reason=serializer.validated_data["reason"])
            release.refresh_from_db()
            return Response(ReleaseSerializer(release).data)

    DecisionView.__name__ = DecisionView.__qualname__ = f"Release{operation.title()}View"
    DecisionView.post.__doc__ = summary
    return DecisionView


ReleaseApproveView = _decision_view(
    "approve",
    release_approve,
    "Approve a request (a release officer of the originator, never the requester). Needs a token with the "
    "`decide` scope.",
    decides=True,
)
ReleaseRefuseView = _decision_view("refuse", release_refuse, "Refuse a request, with a reason.")
ReleaseRevokeView = _decision_view(
    "revoke", release_revoke, "Revoke an approved release, with a reason; access ends at once."
)


def _update_view(operation: str, service, summary: str, *, decides: bool = False):
    class UpdateDecisionView(APIView):
        permission_classes = [TokenScope, DecideScope] if decides else [TokenScope]

        @extend_schema(
            operation_id=f"releases_update_{operation}", request=UpdateDecisionSerializer, responses=ReleaseSerializer
        )
        def post(self, request, code):
            # The originator's release officers only: anyone else gets the 404 of a missing release.
            release = release_for_update(request.user, code)
            serializer = UpdateDecisionSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            release = service(actor=request.user, release=release, revision=data["revision"], reason=data["reason"])
            return Response(ReleaseSerializer(release).data)

    UpdateDecisionView.__name__ = UpdateDecisionView.__qualname__ = f"ReleaseUpdate{operation.title()}View"
    UpdateDecisionView.post.__doc__ = summary
    return UpdateDecisionView


ReleaseUpdateApproveView = _update_view(
    "approve",
    release_update_approve,
    "Release the document's latest revision in place of the pinned one (a release officer of the originator "
    "who wrote none of it); `revision` is the latest revision's number, as the difference showed it. Needs a "
    "token with the `decide` scope.",
    decides=True,
)
ReleaseUpdateDeclineView = _update_view(
    "decline", release_update_decline, "Keep the partner on the pinned revision, with a reason."
)
