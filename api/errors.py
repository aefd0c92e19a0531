"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

Every failure answers it, whether raised by DRF, by a gate (Http404, PermissionDenied), by a
service (Django's ValidationError), by an outage (503 with Retry-After: the database, the
ciphertext store, the broker or the master key's token could not be reached, so the client should try again) or by a
bug (500, logged with its traceback, nothing of it shown). Unknown paths under /api/ answer it
too (see `not_found`).
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from vault.attachments import StorageUnavailable
from vault.masterkeys import KeyProviderUnavailable

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
    503: "unavailable",
}

# What an outage looks like, by the service that failed, and how long to wait before retrying
# (the web's 503s say the same: 30 s for the database, 60 s for the file store).
OUTAGES = (
    ("database", (OperationalError, InterfaceError), 30),
    # The blob store: OSError from a disk, botocore's errors from S3, or the vault's own
    # exception wrapping either.
    ("storage", (StorageUnavailable, OSError, BotoCoreError, ClientError), 60),
    ("broker", (BrokerError, RedisConnectionError), 30),
    # The token (HSM) holding the master key.
    ("keys", (KeyProviderUnavailable,), 30),
)


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "A service Accord depends on is unavailable. Nothing was changed; please try again shortly."
    default_code = "unavailable"

    def __init__(self, service: str, retry_after: int):
        super().__init__()
        self.service = service
        self.wait = retry_after


def outage(exc: BaseException | None) -> tuple[str, int] | None:
    """(service, retry-after seconds) when `exc` (or what it wraps) is a service being away."""
    seen = 0
    while exc is not None and seen < 10:
        for service, types, retry_after in OUTAGES:
            if isinstance(exc, types):
                return service, retry_after
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


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

    if not isinstance(exc, exceptions.APIException) and (found := outage(exc)) is not None:
        request = context.get("request")
        # Not a bug: no traceback. The request log line records the 503 with its request id.
        logger.warning(
            "API request rejected: %s unavailable (%s) on %s %s",
            found[0],
            type(exc).__name__,
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
        )
        exc = ServiceUnavailable(*found)
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
