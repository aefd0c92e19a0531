"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

Every failure answers it, whether raised by DRF, by a gate (Http404, PermissionDenied), by a
service (Django's ValidationError) or by a bug (500, logged with its traceback, nothing of it
shown). Unknown paths under /api/ answer it too (see `not_found`).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .parsers import PayloadTooLarge

logger = logging.getLogger("accord.api")

CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


def error_body(status_code: int, message: str, *, code: str | None = None, details=None) -> dict:
    return {
        "error": {
            "code": code or CODES.get(status_code, "error"),
            "message": message,
            "details": details if details is not None else {},
        }
    }


def _django_validation_details(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def exception_handler(exc, context):
    headers = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "You may not do this.")
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        set_rollback()
        details = _django_validation_details(exc)
        message = " ".join(m for messages in details.values() for m in messages) or "The request is not valid."
        return Response(error_body(400, message, details=details), status=400)

    if not isinstance(exc, exceptions.APIException):
        request = context.get("request")
        logger.error(
            "unhandled API error on %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        set_rollback()
        return Response(
            error_body(500, "Something went wrong on our side. It has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(round(exc.wait))))
    set_rollback()
    status_code = exc.status_code
    code = getattr(exc, "error_code", None)
    if isinstance(exc.detail, dict | list):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = "The request is not valid." if status_code == 400 else _first_message(exc.detail)
    else:
        details = {}
        message = str(exc.detail)
        code = code or getattr(exc.detail, "code", None)
    return Response(error_body(status_code, message, code=code, details=details), status=status_code, headers=headers)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail) or "The request is not valid."


@csrf_exempt  # it changes nothing, and a POST to a wrong path must get this 404, not a CSRF page
def not_found(request, *args, **kwargs):
    """Any path under /api/v1/ that names no endpoint."""
    return JsonResponse(error_body(404, "There is no API endpoint at this address."), status=404)
