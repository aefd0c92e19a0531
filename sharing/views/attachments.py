"""Attachment upload, download and destruction."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import parse_header_parameters, url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from audit.reasons import Reason
from vault.attachments import AttachmentTooLarge, StorageUnavailable, attachment_destroy
from vault.crypto import TamperedCiphertext
from vault.downloads import INTEGRITY_FAILED, download_response
from vault.masterkeys import KeyProviderUnavailable
from vault.uploads import EncryptingUploadHandler

from ..attachments import (
    DocumentFrozen,
    RawBodyRefused,
    attachment_create,
    attachment_create_from_stream,
    check_raw_upload,
    require_open_for_attachments,
    upload_rejected,
)
from ..models import Attachment
from ..policy import attachment_for_download, attachment_for_editor, document_for_editor
from .errors import keys_unavailable, storage_unavailable

# Bodies Django parses itself (into request.POST / request.FILES): everything else is a raw file.
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@csrf_exempt  # CSRF is checked below, after the encrypting handler is in place
@require_POST
@login_required
def attachment_upload(request, code):
    """One file, either as the page's form posts it (multipart, without JavaScript) or as the
    page's script sends it: the file itself as the body, named by Content-Disposition, with no
    multipart parsing at all (the API's path). Same gate, CSRF check, cap, names and scan."""
    # The gate runs before the body is read, so nobody else can make us encrypt gigabytes.
    document = document_for_editor(request.user, code)
    try:
        require_open_for_attachments(actor=request.user, document=document)
    except DocumentFrozen as exc:
        return frozen(exc)
    if request.content_type.lower() not in FORM_TYPES:
        return _answer_failures(request, document, lambda: _raw_upload(request, document))
    handler = EncryptingUploadHandler(request, org_id=document.originator_id)
    request.upload_handlers = [handler]
    try:
        return _answer_failures(request, document, lambda: _upload(request, document, handler))
    finally:
        handler.discard_unclaimed()


def _answer_failures(request, document, upload) -> HttpResponse:
    """Run an upload, answering the failures both bodies share (each audited, nothing kept)."""
    try:
        return upload()
    except DocumentFrozen as exc:  # withdrawn while the file streamed in
        return frozen(exc)
    except StorageUnavailable:
        upload_rejected(actor=request.user, document=document, reason=Reason.STORAGE_UNAVAILABLE)
        return storage_unavailable()
    except KeyProviderUnavailable:
        upload_rejected(actor=request.user, document=document, reason=Reason.KEYS_UNAVAILABLE)
        return keys_unavailable()


def frozen(exc: DocumentFrozen) -> HttpResponse:
    """409 Conflict: the document's state, not the request, forbids it (plain text for the upload
    script, like the other upload answers)."""
    return HttpResponse(" ".join(exc.messages), status=409, content_type="text/plain; charset=utf-8")


@csrf_protect
def _upload(request, document, handler):
    files = request.FILES  # parses the body: every file byte goes through the handler
    if handler.too_large:
        upload_rejected(actor=request.user, document=document, reason=Reason.TOO_LARGE, limit=handler.too_large.limit)
        return HttpResponse(str(handler.too_large), status=413, content_type="text/plain; charset=utf-8")
    if handler.sealed is None or "file" not in files:
        upload_rejected(actor=request.user, document=document, reason=Reason.NO_FILE)
        return HttpResponse("Choose a file to upload.", status=400, content_type="text/plain; charset=utf-8")
    attachment = attachment_create(actor=request.user, document=document, sealed=handler.sealed)
    handler.claimed = True
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return redirect(next_url)
    return _created(attachment)


@csrf_protect  # the script's X-CSRFToken header: a raw body holds no form field to read
def _raw_upload(request, document):
    disposition = request.META.get("HTTP_CONTENT_DISPOSITION", "")
    filename = parse_header_parameters(disposition)[1].get("filename", "").strip() if disposition else ""
    try:
        check_raw_upload(actor=request.user, document=document, filename=filename, meta=request.META, via="web")
    except RawBodyRefused as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    try:
        attachment = attachment_create_from_stream(
            actor=request.user,
            document=document,
            stream=request,  # the WSGI body, bounded by Content-Length, read a megabyte at a time
            filename=filename,
            content_type=request.content_type,
        )
    except AttachmentTooLarge as exc:  # already audited by the service
        return HttpResponse(str(exc), status=413, content_type="text/plain; charset=utf-8")
    return _created(attachment)


def _created(attachment: Attachment) -> JsonResponse:
    body = {"code": str(attachment.code), "filename": attachment.filename, "size": attachment.size}
    return JsonResponse({**body, "sha256": attachment.sha256, "scan_status": attachment.scan_status}, status=201)


@require_GET
@login_required
@never_cache
def attachment_download(request, code):
    return attachment_response(request, attachment_for_download(request.user, code))


def attachment_response(request, attachment: Attachment):
    """The decrypted file, streamed, for an attachment a gate has already allowed (audited)."""
    try:
        return download_response(actor=request.user, attachment=attachment)
    except TamperedCiphertext:
        return HttpResponse(INTEGRITY_FAILED, status=409, content_type="text/plain; charset=utf-8")


@require_POST
@login_required
def attachment_destroy_view(request, code):
    attachment = attachment_for_editor(request.user, code)
    document = attachment.document
    attachment_destroy(actor=request.user, attachment=attachment)
    # The document page's form names where to go back to; a script or API client gets 204.
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        messages.success(
            request, f"{attachment.filename} was destroyed: its key is gone and it can never be read again."
        )
        return redirect(next_url)
    if next_url:
        return redirect("sharing:document_detail", code=document.code)
    return HttpResponse(status=204)
