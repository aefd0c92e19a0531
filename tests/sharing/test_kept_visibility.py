"""The kept visibility table equals what the rules decide, after any sequence of service calls.

Hypothesis drives the services that change releases, agreements, grants, markings and
documents' status in random orders (refusals included: a refused call must change nothing),
then checks that the kept rows are exactly those `rows_by_rules` derives one release at a time
with `scope.py`'s checks, and that the read condition built on them still lists exactly what
`can_read` allows. On SQLite here, on PostgreSQL with `make test-services`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharing import housekeeping
from sharing.models import Document, Release, SharingAgreement, Visibility
from sharing.policy import can_read, readable_documents
from sharing.services import agreements as agreement_services
from sharing.services import documents as document_services
from sharing.services import releases as release_services
from sharing.visibility import kept_rows, rows_by_rules
from tests.factories import (
    AgreementFactory,
    DocumentFactory,
    OrganisationFactory,
    PersonFactory,
    domains,
    portal_admin_person,
    tier,
)
from tests.factories import countries as country_rows

TIERS = ["official", "official-sensitive", "secret"]
DOMAINS = ["cyber-offence", "autonomy", "cbrn"]
COUNTRIES = ["GBR", "USA", "CAN"]

doc_st = st.integers(0, 3)
org_st = st.integers(0, 2)
release_st = st.integers(0, 11)
agreement_st = st.integers(0, 1)

op_st = st.one_of(
    st.tuples(
        st.just("release"),
        doc_st,
        agreement_st,
        org_st,
        st.booleans(),  # approve it
        st.booleans(),  # name one reader
        st.sampled_from([None, "soon", "later"]),  # its own expiry
    ),
    st.tuples(st.sampled_from(["refuse", "revoke", "reinstate", "expire release"]), release_st),
    st.tuples(st.sampled_from(["suspend", "resume", "terminate", "expire agreement"]), agreement_st),
    st.tuples(
        st.just("remark"),
        doc_st,
        st.sampled_from(TIERS),
        st.sets(st.sampled_from(COUNTRIES)),
        st.sets(st.sampled_from(DOMAINS), max_size=2),
    ),
    st.tuples(st.sampled_from(["publish", "withdraw"]), doc_st),
    st.tuples(st.just("tidy")),
)


def build_world():
    now = timezone.now()
    orgs = [
        OrganisationFactory(short_name="ukasi", country="GBR"),
        OrganisationFactory(short_name="usaisi", country="USA"),
        OrganisationFactory(short_name="caaisi", country="CAN"),
    ]
    admin = portal_admin_person()
    authors = [PersonFactory(organisation=org, roles=["author"], clearance="secret") for org in orgs]
    officers = [PersonFactory(organisation=org, roles=["release_officer"], clearance="secret") for org in orgs]
    readers = [
        PersonFactory(organisation=orgs[1], clearance="secret"),
        PersonFactory(organisation=orgs[1], nationality="GBR", clearance="official-sensitive"),
        PersonFactory(organisation=orgs[2], clearance="secret"),
        PersonFactory(organisation=orgs[0], clearance="secret"),
    ]
    agreements = [
        AgreementFactory(parties=orgs, created_by=admin, ceiling="secret", topics=["cyber-offence", "autonomy"]),
        AgreementFactory(
            parties=orgs[:2],
            created_by=admin,
            ceiling="official-sensitive",
            topics=DOMAINS,
            expires_at=now + timedelta(days=3),
        ),
    ]
    documents = [
        DocumentFactory(author=authors[0], tier="official", releasable_to=COUNTRIES, risk_domains=["cyber-offence"]),
        DocumentFactory(author=authors[0], tier="official-sensitive", releasable_to=["USA"], risk_domains=["autonomy"]),
        DocumentFactory(author=authors[0], tier="official", status="draft", releasable_to=COUNTRIES),
        DocumentFactory(author=authors[1], tier="official", releasable_to=COUNTRIES, risk_domains=["cyber-offence"]),
    ]
    return {
        "orgs": orgs,
        "admin": admin,
        "authors": authors,
        "officers": officers,
        "readers": [*readers, *authors, *officers],
        "agreements": agreements,
        "documents": documents,
    }


def _release(index: int) -> Release | None:
    releases = list(Release.objects.order_by("pk"))
    return releases[index % len(releases)] if releases else None


def apply(world: dict, op: tuple) -> None:
    """One service call as a person allowed to try it would make it; refusals are part of the game."""
    kind, *args = op
    now = timezone.now()
    if kind == "release":
        d, a, r, approve, narrowed, expiry = args
        document = Document.objects.get(pk=world["documents"][d].pk)
        o = world["orgs"].index(next(org for org in world["orgs"] if org.pk == document.originator_id))
        recipient = world["orgs"][r]
        audience = [user for user in world["readers"] if user.organisation_id == recipient.pk][:1] if narrowed else []
        expires_at = {None: None, "soon": now + timedelta(days=1), "later": now + timedelta(days=10)}[expiry]
        (release,) = release_services.release_request(
            actor=world["authors"][o],
            document=document,
            agreement=world["agreements"][a],
            recipients=[recipient],
            audience=audience,
            justification="exchange",
            expires_at=expires_at,
        )
        if approve:
            release_services.release_approve(actor=world["officers"][o], release=release)
        return
    if kind in ("refuse", "revoke", "reinstate", "expire release"):
        release = _release(args[0])
        if release is None:
            return
        officer = next(u for u in world["officers"] if u.organisation_id == release.document.originator_id)
        if kind == "refuse":
            release_services.release_refuse(actor=officer, release=release, reason="no")
        elif kind == "revoke":
            release_services.release_revoke(actor=officer, release=release, reason="ended")
        elif kind == "reinstate":
            release_services.release_reinstate(actor=officer, release=release)
        else:
            release_services.release_expire(release=release, now=now + timedelta(days=2))
        return
    if kind in ("suspend", "resume", "terminate", "expire agreement"):
        agreement = SharingAgreement.objects.get(pk=world["agreements"][args[0]].pk)
        if kind == "expire agreement":
            agreement_services.agreement_expire(agreement=agreement, now=agreement.expires_at)
            return
        service = {
            "suspend": agreement_services.agreement_suspend,
            "resume": agreement_services.agreement_resume,
            "terminate": agreement_services.agreement_terminate,
        }[kind]
        service(actor=world["admin"], agreement=agreement, reason="test")
        return
    if kind == "tidy":
        housekeeping.tidy()
        return
    document = Document.objects.get(pk=world["documents"][args[0]].pk)
    author = next(u for u in world["authors"] if u.organisation_id == document.originator_id)
    if kind == "remark":
        _, tier_code, releasable, topics = args
        document_services.document_update(
            actor=author,
            document=document,
            tier=tier(tier_code),
            releasable_to=country_rows(*releasable),
            risk_domains=domains(*topics),
        )
    elif kind == "publish":
        document_services.document_publish(actor=author, document=document)
    elif kind == "withdraw":
        document_services.document_withdraw(actor=author, document=document, reason="test")


def check_kept_equals_rules(ops: list[tuple]) -> None:
    with transaction.atomic():
        world = build_world()
        for op in ops:
            try:
                with transaction.atomic():
                    apply(world, op)
            except (ValidationError, PermissionDenied):
                pass  # refused, audited, and nothing else changed: the checks below hold either way
            assert kept_rows() == rows_by_rules(), op
        documents = list(Document.objects.all())
        for user in world["readers"]:
            listed = set(readable_documents(user).values_list("pk", flat=True))
            allowed = {document.pk for document in documents if can_read(user, document)}
            assert listed == allowed, (user, {d.pk: can_read(user, d).reason for d in documents})
        transaction.set_rollback(True)


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


@pytest.mark.django_db
@settings(max_examples=25, **SETTINGS)
@given(ops=st.lists(op_st, min_size=1, max_size=12))
def test_kept_visibility_equals_the_rules_after_any_service_calls(ops):
    check_kept_equals_rules(ops)


@pytest.mark.services
@pytest.mark.django_db
@settings(max_examples=15, **SETTINGS)
@given(ops=st.lists(op_st, min_size=1, max_size=12))
def test_kept_visibility_equals_the_rules_after_any_service_calls_on_postgresql(ops):
    assert connection.vendor == "postgresql", "run with DATABASE_URL set to PostgreSQL (make test-services)"
    check_kept_equals_rules(ops)


@pytest.mark.django_db
def test_the_sequences_reach_kept_rows_and_their_end():
    """Guard against a vacuous property: an approval keeps a row a partner reads through; a
    suspension of the agreement takes it away; resuming brings it back."""
    world = build_world()
    reader = world["readers"][0]
    uk_finding = world["documents"][0]
    assert uk_finding not in readable_documents(reader)
    apply(world, ("release", 0, 0, 1, True, False, None))
    assert Visibility.objects.count() == 1
    assert uk_finding in readable_documents(reader)
    apply(world, ("suspend", 0))
    assert Visibility.objects.count() == 0
    assert uk_finding not in readable_documents(reader)
    apply(world, ("resume", 0))
    assert uk_finding in readable_documents(reader)


@pytest.mark.django_db
def test_an_expiry_ends_access_at_the_second_without_any_job():
    """The kept range, not a job, ends access: a release past its date reads as gone at once."""
    world = build_world()
    reader = world["readers"][0]
    apply(world, ("release", 0, 0, 1, True, False, "soon"))
    (row,) = Visibility.objects.all()
    assert row.valid_until == Release.objects.get().expires_at
    assert world["documents"][0] in readable_documents(reader)
    Visibility.objects.filter(pk=row.pk).update(valid_until=timezone.now())  # as if the second had passed
    assert world["documents"][0] not in readable_documents(reader)


@pytest.mark.django_db
def test_policy_rebuild_restores_a_damaged_table_and_check_tells(capsys):
    world = build_world()
    apply(world, ("release", 0, 0, 1, True, False, None))
    apply(world, ("release", 1, 0, 1, True, True, None))
    expected = kept_rows()
    Visibility.objects.all().delete()
    with pytest.raises(Exception, match="differs from the rules"):
        call_command("policy", "check")
    call_command("policy", "rebuild")
    assert kept_rows() == expected == rows_by_rules()
    call_command("policy", "check")
    assert "agrees with the rules: 2 rows" in capsys.readouterr().out
