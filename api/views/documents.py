"""Documents: list (the portal's filters), detail, create, update, publish.

Every object comes through the policy's gates (`document_for_reader`, `document_for_editor`),
every list from `readable_documents`, every change through the document services: the API can
do nothing the portal would refuse.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from audit.services import record
from sharing.models import Document
from sharing.policy import (
    document_for_editor,
    document_for_reader,
    readable_documents,
    show_released,
    show_released_rows,
)
from sharing.selectors import filter_documents, with_marking
from sharing.services import document_create, document_publish, document_update
from sharing.services.listings import documents_listed

from ..listings import page_objects
from ..serializers import (
    DocumentFilterSerializer,
    DocumentListSerializer,
    DocumentSerializer,
    DocumentUpdateSerializer,
    DocumentWriteSerializer,
)


def _detail(request: Request, document: Document, code: int = status.HTTP_200_OK) -> Response:
    shown = with_marking(Document.objects.filter(pk=document.pk)).get()
    if getattr(document, "shown_revision", None) is not None:
        # A partner's document came from the gate as the revision released to it: keep it so.
        shown = show_released(shown, document.shown_revision, document.released_at)
    document = shown
    return Response(DocumentSerializer(document, context={"request": request}).data, status=code)


class DocumentListView(generics.ListAPIView):
    serializer_class = DocumentListSerializer

    def get_queryset(self) -> QuerySet[Document]:
        filters = DocumentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        user = self.request.user
        documents = filter_documents(readable_documents(user), reader=user, **self._selector_args(filters))
        if not filters.validated_data.get("q"):
            documents = documents.order_by("-created_at", "-pk")
        return with_marking(documents)

    def paginate_queryset(self, queryset):
        # A partner's rows read as the revision released to them, as the detail does.
        return show_released_rows(self.request.user, super().paginate_queryset(queryset))

    @staticmethod
    def _selector_args(filters: DocumentFilterSerializer) -> dict:
        data = dict(filters.validated_data)
        if "risk_domain" in data:
            data["risk_domain"] = data["risk_domain"].code
        if "q" in data:
            data["text"] = data.pop("q")
        return data

    @extend_schema(operation_id="documents_list", parameters=[DocumentFilterSerializer])
    def get(self, request, *args, **kwargs):
        response = self.list(request, *args, **kwargs)
        documents_listed(
            actor=request.user,
            documents=page_objects(self),
            page="documents",
            via="api",
            filters=sorted(k for k in request.query_params if k != "page"),
        )
        return response

    @extend_schema(
        operation_id="documents_create",
        request=DocumentWriteSerializer,
        responses={201: DocumentSerializer},
    )
    def post(self, request):
        """Create a draft for your organisation (the author role is needed)."""
        serializer = DocumentWriteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        document = document_create(actor=request.user, **serializer.validated_data)
        return _detail(request, document, status.HTTP_201_CREATED)


class DocumentDetailView(APIView):
    @extend_schema(operation_id="documents_retrieve", responses=DocumentSerializer)
    def get(self, request, code):
        document = document_for_reader(request.user, code)
        record(
            Action.DOCUMENT_VIEWED,
            actor=request.user,
            target=document,
            details={"via": "api", "revision": document.revision},
        )
        return _detail(request, document)

    @extend_schema(operation_id="documents_update", request=DocumentUpdateSerializer, responses=DocumentSerializer)
    def patch(self, request, code):
        """Change the given fields as one new revision; the rest stay as they are."""
        document = document_for_editor(request.user, code)
        serializer = DocumentUpdateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        document = document_update(actor=request.user, document=document, **serializer.validated_data)
        return _detail(request, document)


class DocumentPublishView(APIView):
    @extend_schema(operation_id="documents_publish", request=None, responses=DocumentSerializer)
    def post(self, request, code):
        """Publish a draft; its marking is checked again against your clearance now."""
        document = document_for_editor(request.user, code)
        document = document_publish(actor=request.user, document=document)
        return _detail(request, document)
