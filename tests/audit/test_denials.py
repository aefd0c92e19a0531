"""A denial is kept even when the transaction around it rolls back: in a request, in a Celery
task, in an explicit scope, and in code running outside any of them."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import path

from audit.context import audit_scope
from audit.models import Action, AuditEvent, Outcome
from audit.services import record, record_denial
from audit.verify import verify_chain
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


class _Boom(Exception):
    pass


def _deny_then_roll_back(actor=None, label="rolled back denial") -> None:
    try:
        with transaction.atomic():
            record(Action.DOCUMENT_UPDATED, target=("sharing.document", "d1", "change that fails"))
            record_denial(Action.ACCESS_DENIED, actor=actor, target=("sharing.document", "d1", label))
            raise _Boom
    except _Boom:
        pass


def denying_view(request):
    try:
        with transaction.atomic():
            record_denial(Action.ACCESS_DENIED, actor=request.user, target=("sharing.document", "d2", "from a view"))
            raise Http404
    except Http404:
        return HttpResponse("not found", status=404)


urlpatterns = [path("deny/", denying_view)]


@celery_app.task(name="tests.audit.denying_task")
def denying_task() -> None:
    _deny_then_roll_back(label="from a task")


def _denials(label: str):
    return AuditEvent.objects.filter(action=Action.ACCESS_DENIED, target_label=label, outcome=Outcome.DENIED)


@pytest.mark.urls(__name__)
def test_denial_in_a_rolled_back_request_transaction_is_written(client):
    response = client.get("/deny/", HTTP_X_REQUEST_ID="req-deny-0001")
    assert response.status_code == 404
    denial = _denials("from a view").get()
    assert denial.request_id == "req-deny-0001"
    assert denial.details == {"rolled_back": True}
    assert verify_chain().ok


def test_denial_in_a_rolled_back_task_transaction_is_written():
    denying_task.delay()
    denial = _denials("from a task").get()
    assert denial.user_agent == "task:tests.audit.denying_task"
    assert denial.request_id  # the task id
    assert not AuditEvent.objects.filter(target_label="change that fails").exists()


def test_denial_in_an_explicit_scope_is_written_when_the_scope_ends():
    with audit_scope(request_id="cmd-0000001"):
        _deny_then_roll_back(label="from a scope")
        assert not _denials("from a scope").exists()
    assert _denials("from a scope").get().request_id == "cmd-0000001"


def test_denial_outside_any_scope_is_written_by_the_threads_next_append():
    # A script with no request, task or scope: the thread's own context keeps the denial.
    def script():
        _deny_then_roll_back(label="from a script")
        record(Action.AUTH_LOGIN)

    thread = threading.Thread(target=script)
    thread.start()
    thread.join()
    assert _denials("from a script").count() == 1
    assert verify_chain().ok


def test_committed_denial_is_not_written_twice():
    with audit_scope():
        with transaction.atomic():
            record_denial(Action.ACCESS_DENIED, target=("sharing.document", "d3", "committed"))
    assert _denials("committed").count() == 1
