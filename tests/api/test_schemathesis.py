"""schemathesis against the live schema, through the WSGI app, with real tokens and seeded data.

Zero server errors and zero responses that break the schema (body, content type, status code),
on every operation. Bounded (a few dozen examples per operation) so it finishes in a few minutes
on two cores. Run by `make test-services` (PostgreSQL); it also runs on SQLite when selected.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_token
from tests.api.support import FIXTURES, clean_attachment, parsed_run
from tests.factories import domains
from tests.sharing.documents_support import new_document

pytestmark = [pytest.mark.services, pytest.mark.django_db]

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The WSGI app closes connections when a request ends; inside the test's transaction that
    would drop it (on PostgreSQL). Django's own test client holds these signals back the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(alice, rita, finding, uk_us_agreement, usaisi, settings):
    """A draft, a published finding, a clean attachment, a parsed eval run of alice's; a UK–US
    agreement with a release awaiting decision and an approved one."""
    from sharing.services.releases import release_approve, release_request

    settings.ACCORD_API_RATE = "100000/min"
    draft = new_document(alice, title="Draft finding", risk_domains=domains("cbrn"))
    published = new_document(alice, title="Published finding", risk_domains=domains("cyber-offence"))
    from sharing.services import document_publish

    document_publish(actor=alice, document=published)
    attachment = clean_attachment(alice, published)
    log = clean_attachment(alice, published, (FIXTURES / "success.eval").read_bytes(), "success.eval")
    [requested] = release_request(
        actor=alice, document=finding, agreement=uk_us_agreement, recipients=[usaisi], justification="Please"
    )
    [approved] = release_request(
        actor=alice, document=published, agreement=uk_us_agreement, recipients=[usaisi], justification="Please"
    )
    release_approve(actor=rita, release=approved)
    return {
        "token": make_token(alice),
        "codes": {
            "documents": [draft.code, published.code],
            "attachments": [attachment.code, log.code],
            "eval-runs": [parsed_run(log).code],
            "releases": [requested.code, approved.code],
            "agreements": [uk_us_agreement.code],
        },
    }


def _live_schema():
    """The schema exactly as /api/schema/ serves it (it needs no database)."""
    from portal.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _live_schema()


def _real_code(case, codes):
    """Half the generated cases name a seeded object, so the allowed paths are exercised too."""
    code = (case.path_parameters or {}).get("code")
    if code is None:
        return
    kind = case.path.split("/")[3]  # /api/v1/<kind>/{code}/...
    known = codes.get(kind)
    if known and hash(str(code)) % 2 == 0:
        case.path_parameters["code"] = str(known[hash(str(code)) % len(known)])


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api_answers_within_its_schema(case, seeded):
    _real_code(case, seeded["codes"])
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {seeded['token']}"}
    response = case.call()
    case.validate_response(response, checks=CHECKS)
