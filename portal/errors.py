"""Server-error handler: a database or key token that cannot be reached is a 503, not a 500.

Django turns an exception from any view or middleware into a call of `handler500` while the
exception is still being handled, so the handler can tell "the database is unreachable"
(OperationalError/InterfaceError, also when wrapped) from a bug. The 503 page is rendered
without a request context: context processors would read the session or the user, that is,
the database that just failed.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from api.errors import error_body
from vault.masterkeys import KeyProviderUnavailable

# The database, or the token holding the master key (keys are unwrapped before anything is
# written, so a request it fails has changed nothing either).
DATABASE_ERRORS = (OperationalError, InterfaceError, KeyProviderUnavailable)
RETRY_AFTER_SECONDS = 30


def _database_unreachable(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DATABASE_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def service_unavailable(request: HttpRequest | None = None) -> HttpResponse:
    if request is not None and request.path.startswith("/api/"):
        # The database failed before the API's own handler ran (sessions, authentication in a
        # middleware): the API's client still gets the API's error shape.
        body = error_body(
            503, "A service Accord depends on is unavailable. Nothing was changed; please try again shortly."
        )
        return JsonResponse(
            body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        )

    body = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


@requires_csrf_token
def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    if _database_unreachable(sys.exc_info()[1]):
        return service_unavailable(request)
    try:
        return defaults.server_error(request, template_name=template_name)
    except Exception:  # the 500 page itself failed (its template touched the database): plain text
        return HttpResponseServerError("Server error", content_type="text/plain")
