"""Attachments: list a document's, upload one as a streamed raw body, download one streamed.

Upload: `POST /api/v1/documents/{code}/attachments/?filename=run.eval` with the file as the
request body (any Content-Type but multipart). The gate runs before a byte of the body is read,
and the body goes through the same encrypting writer as the portal's uploads, one megabyte at
a time: plaintext never reaches disk, and memory stays flat whatever the size.
"""

from __future__ import annotations

from django.utils.http import parse_header_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.reasons import Reason
from sharing.attachments import (
    DocumentFrozen,
    RawBodyRefused,
    attachment_create_from_stream,
    check_raw_upload,
    require_open_for_attachments,
    upload_rejected,
)
from sharing.policy import attachment_for_download, attachments_read, document_for_editor, document_for_reader
from sharing.services.listings import documents_listed
from vault.attachments import AttachmentTooLarge, StorageUnavailable
from vault.crypto import TamperedCiphertext
from vault.downloads import INTEGRITY_FAILED, download_response
from vault.masterkeys import KeyProviderUnavailable

from ..errors import ServiceUnavailable
from ..parsers import PayloadTooLarge
from ..schema import ErrorSerializer
from ..serializers import AttachmentSerializer


class LengthRequired(exceptions.APIException):
    status_code = 411
    default_detail = "Send the file with a Content-Length header."
    default_code = "length_required"


class IntegrityFailed(exceptions.APIException):
    status_code = 409
    default_detail = INTEGRITY_FAILED
    default_code = "integrity_failed"


class Frozen(exceptions.APIException):
    status_code = 409
    default_code = "withdrawn"


class RawBody:
    """Stands in as the upload's only parser, so DRF never reads or buffers the body itself."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):  # pragma: no cover - never called
        raise exceptions.UnsupportedMediaType(media_type)


def _filename(request, in_path: str = "") -> str:
    name = in_path or request.query_params.get("filename", "")
    if not name:
        disposition = request.META.get("HTTP_CONTENT_DISPOSITION", "")
        if disposition:
            _, params = parse_header_parameters(disposition)
            name = params.get("filename", "")
    return name.strip()


UPLOAD_RESPONSES = {
    201: AttachmentSerializer,
    411: OpenApiResponse(ErrorSerializer, description="A chunked body without Content-Length"),
    409: OpenApiResponse(ErrorSerializer, description="The document is withdrawn: it takes no new attachments"),
    415: OpenApiResponse(ErrorSerializer, description="A multipart body"),
}


class DocumentAttachmentsView(APIView):
    parser_classes = [RawBody]

    @extend_schema(operation_id="attachments_list", responses=AttachmentSerializer(many=True))
    def get(self, request, code):
        """The document's attachments (crypto-shredded ones left out)."""
        document = document_for_reader(request.user, code)
        attachments = attachments_read(document).select_related("document")
        body = AttachmentSerializer(attachments, many=True).data
        documents_listed(actor=request.user, documents=[document], page="attachments", via="api")
        return Response(body)

    @extend_schema(
        operation_id="attachments_upload",
        parameters=[
            OpenApiParameter(
                "filename",
                str,
                OpenApiParameter.QUERY,
                required=False,
                description="The file's name (or send `Content-Disposition: attachment; filename=…`)",
            )
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses=UPLOAD_RESPONSES,
    )
    def post(self, request, code):
        """Upload the request body as a new attachment of a document you may edit."""
        return upload(request, code, _filename(request))


class NamedAttachmentUploadView(APIView):
    parser_classes = [RawBody]

    @extend_schema(
        operation_id="attachments_upload_named",
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses=UPLOAD_RESPONSES,
    )
    def post(self, request, code, filename):
        """The same upload, the file's name the last part of the path (`curl -X POST -T file …/attachments/`)."""
        return upload(request, code, _filename(request, filename))


def _api_refusal(exc: RawBodyRefused) -> exceptions.APIException:
    if exc.reason == Reason.NO_CONTENT_LENGTH:
        return LengthRequired()
    if exc.reason == Reason.TOO_LARGE:
        return PayloadTooLarge(exc.message)
    field = "filename" if exc.reason == Reason.NO_FILENAME else "body"
    return exceptions.ValidationError({field: [exc.message]})


def upload(request, code, filename: str) -> Response:
    # The gate first: nobody may make us read, let alone encrypt, a body they may not send.
    document = document_for_editor(request.user, code)
    try:
        require_open_for_attachments(actor=request.user, document=document)
    except DocumentFrozen as exc:
        raise Frozen(" ".join(exc.messages)) from None
    if request.content_type.lower().startswith("multipart/"):
        upload_rejected(actor=request.user, document=document, reason=Reason.MULTIPART_BODY, via="api")
        raise exceptions.UnsupportedMediaType(
            request.content_type, "Send the file itself as the request body, not a multipart form."
        )
    try:
        check_raw_upload(actor=request.user, document=document, filename=filename, meta=request.META, via="api")
    except RawBodyRefused as exc:
        raise _api_refusal(exc) from None
    try:
        attachment = attachment_create_from_stream(
            actor=request.user,
            document=document,
            stream=request._request,  # the WSGI body, bounded by Content-Length
            filename=filename,
            content_type=request.content_type,
        )
    except AttachmentTooLarge as exc:  # already audited by the service
        raise PayloadTooLarge(str(exc)) from None
    except StorageUnavailable as exc:
        # As the web's upload does: the refusal is on the record, the client told to retry.
        upload_rejected(actor=request.user, document=document, reason=Reason.STORAGE_UNAVAILABLE, via="api")
        raise ServiceUnavailable("storage", 60) from exc
    except KeyProviderUnavailable as exc:
        upload_rejected(actor=request.user, document=document, reason=Reason.KEYS_UNAVAILABLE, via="api")
        raise ServiceUnavailable("keys", 30) from exc
    except DocumentFrozen as exc:  # withdrawn while the body streamed in; audited by the service
        raise Frozen(" ".join(exc.messages)) from None
    attachment.refresh_from_db()
    return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDownloadView(APIView):
    @extend_schema(
        operation_id="attachments_download",
        responses={
            (200, "*/*"): OpenApiTypes.BINARY,
            409: OpenApiResponse(ErrorSerializer, description="The file failed its integrity check"),
        },
    )
    def get(self, request, code):
        """The decrypted file, streamed segment by segment. Only clean files are served."""
        attachment = attachment_for_download(request.user, code)
        try:
            response = download_response(actor=request.user, attachment=attachment)
        except TamperedCiphertext:
            raise IntegrityFailed() from None
        response["Cache-Control"] = "no-store"  # the portal's download says so through never_cache
        return response

    def perform_content_negotiation(self, request, force=False):
        # The file is sent whatever the client accepts; errors are JSON.
        return super().perform_content_negotiation(request, force=True)
