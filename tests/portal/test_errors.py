from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.urls import path

from portal import urls as portal_urls

pytestmark = pytest.mark.django_db


def _raising(exc: Exception):
    def view(request):
        raise exc

    return view


@pytest.fixture
def broken_urls(settings):
    """A URLconf with the portal's patterns plus views that fail in chosen ways."""
    import types

    module = types.ModuleType("broken_urls")
    module.urlpatterns = [
        *portal_urls.urlpatterns,
        path("db-down", _raising(OperationalError("connection to server at 10.0.0.5 refused"))),
        path("db-gone", _raising(InterfaceError("connection already closed"))),
        path("bug", _raising(ZeroDivisionError("division by zero"))),
    ]
    module.handler500 = portal_urls.handler500
    import sys

    sys.modules["broken_urls"] = module
    settings.ROOT_URLCONF = "broken_urls"
    yield
    del sys.modules["broken_urls"]


@pytest.mark.parametrize("url", ["/db-down", "/db-gone"])
def test_unreachable_database_answers_503_with_a_calm_page(client, broken_urls, url):
    client.raise_request_exception = False
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "temporarily unavailable" in body
    assert "Nothing you sent in this request was saved" in body
    # Nothing of the error itself reaches the page.
    assert "10.0.0.5" not in body and "closed" not in body


def test_wrapped_database_error_is_still_503(client, settings, broken_urls):
    def view(request):
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError as exc:
            raise RuntimeError("while saving") from exc

    import sys

    sys.modules["broken_urls"].urlpatterns.append(path("chained", view))
    client.raise_request_exception = False
    assert client.get("/chained").status_code == 503


def test_a_bug_is_still_a_500(client, broken_urls):
    client.raise_request_exception = False
    response = client.get("/bug")
    assert response.status_code == 500
    assert b"division" not in response.content


def test_503_page_is_styled_like_the_others_and_reads_nothing(django_assert_num_queries):
    from portal.errors import service_unavailable

    with django_assert_num_queries(0):
        response = service_unavailable()
    body = response.content.decode()
    assert response.status_code == 503
    assert "govuk-frontend.min.css" in body
    for cls in ("govuk-template__body", "govuk-width-container", "govuk-main-wrapper", "govuk-heading-l", "govuk-body"):
        assert cls in body
    # The class names of the first stylesheet are gone, and the page has no inline code.
    for old in ("site-header", "site-name", 'class="container"', "<script", "style="):
        assert old not in body
