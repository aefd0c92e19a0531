"""The policy's two faces agree on generated worlds: readable_documents(user) is exactly the
set of documents for which can_read(user, d) allows, whatever the organisations, agreements,
releases, grants (stale ones included), clearances and read-ins.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.affiliations import HostAffiliation, present_as_host_member
from audit.reasons import Reason
from sharing.models import DocumentGroupObjectPermission, DocumentUserObjectPermission, Release
from sharing.policy import can_read, readable_documents, released_revision
from sharing.visibility import kept_rows, rows_by_rules
from tests.factories import (
    AgreementFactory,
    DocumentFactory,
    OrganisationFactory,
    PersonFactory,
    ReadInFactory,
    ReleaseFactory,
    compartment,
    portal_admin_person,
    revise,
)
from tests.factories import tier as tier_named

COUNTRIES = ["GBR", "USA", "CAN"]
TIERS = ["official", "official-sensitive", "secret"]
COMPARTMENTS = ["c1", "c2"]
DOMAINS = ["cyber-offence", "autonomy", "cbrn"]
WHEN = ["past", "live", "future"]


def mostly(usual, *others):
    """`usual` usually (and as the simplest value, so shrinking heads there), else one of `others`.

    Worlds where access is often granted, so the property is tested on both outcomes rather
    than on a sea of denials (test_generated_worlds_reach_both_outcomes checks it).
    """
    other = st.sampled_from(others) if others and not isinstance(others[0], st.SearchStrategy) else others[0]
    return st.integers(0, 3).flatmap(lambda i: st.just(usual) if i < 3 else other)


read_in_st = st.tuples(st.sampled_from(COMPARTMENTS), st.sampled_from(WHEN), st.booleans())

users_st = st.lists(
    st.fixed_dictionaries(
        {
            "org": mostly(1, st.integers(0, 2)),
            "nationality": mostly("USA", st.sampled_from(COUNTRIES)),
            "active": mostly(True, False),
            "clearance": mostly(
                ("secret", "live", False),
                st.none() | st.tuples(st.sampled_from(TIERS), st.sampled_from(WHEN), st.booleans()),
            ),
            "read_ins": mostly([("c1", "live", False), ("c2", "live", False)], st.lists(read_in_st, max_size=3)),
            # Acting for a host as a secondee: (the host's index, the host's clearance grant).
            "acting_for": mostly(None, st.tuples(st.integers(0, 2), st.sampled_from(TIERS))),
        }
    ),
    min_size=1,
    max_size=4,
)
documents_st = st.lists(
    st.fixed_dictionaries(
        {
            "org": mostly(0, st.integers(0, 2)),
            "tier": st.sampled_from(TIERS),
            "status": mostly("published", "draft", "withdrawn"),
            "releasable": mostly(set(COUNTRIES), st.sets(st.sampled_from(COUNTRIES))),
            "compartments": mostly(set(), st.sets(st.sampled_from(COMPARTMENTS), max_size=2)),
            "domains": mostly({"cyber-offence"}, st.sets(st.sampled_from(DOMAINS), max_size=2)),
            # A revision written after the releases, not yet approved for partners: its marking
            # binds the originator alone, and partners as well only where it is stricter.
            "revised": mostly(
                None,
                st.fixed_dictionaries(
                    {
                        "tier": st.sampled_from(TIERS),
                        "releasable": st.sets(st.sampled_from(COUNTRIES)),
                        "compartments": st.sets(st.sampled_from(COMPARTMENTS), max_size=2),
                    }
                ),
            ),
        }
    ),
    min_size=1,
    max_size=6,
)
agreements_st = st.lists(
    st.fixed_dictionaries(
        {
            "parties": mostly({0, 1, 2}, st.sets(st.integers(0, 2), min_size=2)),
            "status": mostly("active", "draft", "suspended", "terminated", "expired"),
            "when": mostly("live", "past", "future"),
            "ceiling": mostly("secret", st.sampled_from(TIERS)),
            "topics": mostly({"cyber-offence", "autonomy"}, st.sets(st.sampled_from(DOMAINS), min_size=1)),
            "seconded_staff": mostly(False, True),
        }
    ),
    min_size=1,
    max_size=3,
)
releases_st = st.lists(
    st.fixed_dictionaries(
        {
            "doc": st.integers(0, 5),
            "agreement": st.integers(0, 2),
            "recipient": mostly(1, st.integers(0, 2)),
            "status": mostly("approved", "requested", "refused", "revoked"),
            "expiry": mostly(None, "past", "future"),
            "audience": mostly(set(), st.sets(st.integers(0, 3), max_size=2)),
            # An approved release pins the revision its officer saw; one naming none grants nothing.
            "pinned": mostly(True, False),
            # Decided after the author's newer revision (an approved update): it pins that one.
            "after_revision": mostly(False, True),
        }
    ),
    min_size=1,
    max_size=8,
)
# Grants that no release supports (left behind, or made by hand): they must never open a door alone.
stray_grants_st = mostly(
    [("group", 0, 0), ("group", 1, 1), ("user", 0, 2)],
    st.lists(st.tuples(st.sampled_from(["user", "group"]), st.integers(0, 3), st.integers(0, 5))),
)


def _window(when: str, now):
    return {
        "past": (now - timedelta(days=10), now - timedelta(seconds=1)),
        "live": (now - timedelta(days=1), now + timedelta(days=30)),
        "future": (now + timedelta(hours=1), now + timedelta(days=30)),
    }[when]


def build_world(spec: dict):
    now = timezone.now()
    orgs = [
        OrganisationFactory(short_name="ukasi", country="GBR"),
        OrganisationFactory(short_name="usaisi", country="USA"),
        OrganisationFactory(short_name="caaisi", country="CAN"),
    ]
    admin = portal_admin_person()
    users = []
    for u in spec["users"]:
        clearance = {}
        if u["clearance"]:
            tier, when, revoked = u["clearance"]
            start, end = _window(when, now)
            clearance = {
                "clearance": tier,
                "clearance__valid_from": start,
                "clearance__valid_until": end,
                "clearance__revoked_at": now if revoked else None,
            }
        user = PersonFactory(
            organisation=orgs[u["org"]], nationality=u["nationality"], is_active=u["active"], **clearance
        )
        for code, when, revoked in u["read_ins"]:
            start, end = _window(when, now)
            ReadInFactory(
                user=user, compartment=code, granted_at=start, expires_at=end, revoked_at=now if revoked else None
            )
        users.append(user)
    docs = [
        DocumentFactory(
            originator=orgs[d["org"]],
            author=admin,
            tier=d["tier"],
            status=d["status"],
            releasable_to=d["releasable"],
            compartments=d["compartments"],
            risk_domains=d["domains"],
        )
        for d in spec["documents"]
    ]
    agreements = []
    for a in spec["agreements"]:
        start, end = _window(a["when"], now)
        agreements.append(
            AgreementFactory(
                parties=[orgs[i] for i in sorted(a["parties"])],
                created_by=admin,
                ceiling=a["ceiling"],
                topics=a["topics"],
                status=a["status"],
                effective_from=start,
                expires_at=end,
                seconded_staff_read_partner_material=a.get("seconded_staff", False),
            )
        )
    for code, owner in spec.get("owners", {}).items():
        owned = compartment(code)
        owned.owner = orgs[owner] if owner is not None else None
        owned.save(update_fields=["owner"])
    releases = spec["releases"]
    _release_all([r for r in releases if not r.get("after_revision")], docs, agreements, orgs, users, admin, now)
    for doc, d in zip(docs, spec["documents"], strict=True):
        if d.get("revised"):
            changed = d["revised"]
            revise(doc, tier=changed["tier"], releasable_to=changed["releasable"], compartments=changed["compartments"])
    _release_all([r for r in releases if r.get("after_revision")], docs, agreements, orgs, users, admin, now)
    view = Permission.objects.get(codename="view_document", content_type__app_label="sharing")
    for kind, who, which in spec["stray_grants"]:
        if who >= len(users) or which >= len(docs):
            continue
        if kind == "user":
            DocumentUserObjectPermission.objects.get_or_create(
                user=users[who], permission=view, content_object=docs[which]
            )
        else:
            DocumentGroupObjectPermission.objects.get_or_create(
                group_id=users[who].organisation.group_id, permission=view, content_object=docs[which]
            )
    for user, u in zip(users, spec["users"], strict=True):
        if u.get("acting_for") and u["acting_for"][0] != u["org"]:
            host, grant = u["acting_for"]
            present_as_host_member(
                user,
                HostAffiliation(
                    secondment_code="generated", home=orgs[u["org"]], host=orgs[host], role="reviewer",
                    clearance=tier_named(grant), ends_at=now + timedelta(days=30),
                ),
            )  # fmt: skip
    return users, docs


def _release_all(releases, docs, agreements, orgs, users, admin, now) -> None:
    """Make each release of the spec (each pins the document's latest revision as of now)."""
    for r in releases:
        if not agreements:
            continue
        doc, ag, recipient = (
            docs[r["doc"] % len(docs)],
            agreements[r["agreement"] % len(agreements)],
            orgs[r["recipient"]],
        )
        live = Release.objects.filter(
            document=doc, agreement=ag, recipient=recipient, status__in=["requested", "approved"]
        )
        if r["status"] in ("requested", "approved") and live.exists():
            continue
        expiry = {None: None, "past": now - timedelta(seconds=1), "future": now + timedelta(days=3)}[r["expiry"]]
        audience = [users[i] for i in r["audience"] if i < len(users) and users[i].organisation_id == recipient.pk]
        ReleaseFactory(
            document=doc,
            agreement=ag,
            recipient=recipient,
            requested_by=admin,
            status=r["status"],
            expires_at=expiry,
            audience=audience,
            **({} if r.get("pinned", True) else {"revision": None}),
        )


# Who owns each compartment (an organisation's index, or none): it decides who reads people in,
# never what a read-in opens, so neither face may depend on it.
owners_st = st.fixed_dictionaries({code: st.none() | st.integers(0, 2) for code in COMPARTMENTS})

world_st = st.fixed_dictionaries(
    {
        "owners": owners_st,
        "users": users_st,
        "documents": documents_st,
        "agreements": agreements_st,
        "releases": releases_st,
        "stray_grants": stray_grants_st,
    }
)


def check_faces_agree(spec: dict) -> None:
    with transaction.atomic():
        users, docs = build_world(spec)
        for user in users:
            listed = set(readable_documents(user).values_list("pk", flat=True))
            allowed = {doc.pk for doc in docs if can_read(user, doc)}
            assert listed == allowed, {doc.pk: can_read(user, doc).reason for doc in docs}
        assert kept_rows() == rows_by_rules()
        transaction.set_rollback(True)


def published_official(releasable: set) -> dict:
    """A published OFFICIAL UK finding with no compartment or topic, releasable as given."""
    return {
        "org": 0,
        "tier": "official",
        "status": "published",
        "releasable": releasable,
        "compartments": set(),
        "domains": set(),
    }


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


NARROWED_WITH_STALE_GROUP_ROW = {
    "users": [
        {"org": 1, "nationality": "USA", "active": True, "clearance": ("secret", "live", False), "read_ins": []},
        {"org": 1, "nationality": "USA", "active": True, "clearance": ("secret", "live", False), "read_ins": []},
    ],
    "documents": [published_official({"USA"})],
    "agreements": [{"parties": {0, 1}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"}}],
    "releases": [{"doc": 0, "agreement": 0, "recipient": 1, "status": "approved", "expiry": None, "audience": {0}}],
    "stray_grants": [("group", 1, 0)],
}


# Released in C1 to a partner not read in to it; the author's newer revision drops C1.
LOWERED_AFTER_RELEASE = {
    "users": [{"org": 1, "nationality": "USA", "active": True, "clearance": ("secret", "live", False), "read_ins": []}],
    "documents": [
        {
            "org": 0,
            "tier": "official",
            "status": "published",
            "releasable": {"USA"},
            "compartments": {"c1"},
            "domains": set(),
            "revised": {"tier": "official", "releasable": {"USA"}, "compartments": set()},
        }
    ],
    "agreements": [{"parties": {0, 1}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"}}],
    "releases": [{"doc": 0, "agreement": 0, "recipient": 1, "status": "approved", "expiry": None, "audience": set()}],
    "stray_grants": [],
}


# The same, with an update approved since (under a second agreement): the release of revision 2,
# which drops C1, lets the partner read; C1 is owned by the partner, which changes nothing.
UPDATE_APPROVED = {
    **LOWERED_AFTER_RELEASE,
    "owners": {"c1": 1, "c2": None},
    "agreements": [
        {"parties": {0, 1}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"}},
        {"parties": {0, 1}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"}},
    ],
    "releases": [
        {"doc": 0, "agreement": 0, "recipient": 1, "status": "approved", "expiry": None, "audience": set()},
        {
            "doc": 0,
            "agreement": 1,
            "recipient": 1,
            "status": "approved",
            "expiry": None,
            "audience": set(),
            "after_revision": True,
        },
    ],
}


# A US-institute member whose nationality the US admin set to GBR, a GBR EYES ONLY finding released
# (earlier) to the US institute, and one released to the US: the organisation's country binds.
NATIONALITY_NOT_THE_ORGANISATIONS = {
    "users": [
        {"org": 1, "nationality": "GBR", "active": True, "clearance": ("secret", "live", False), "read_ins": []},
        {"org": 2, "nationality": "USA", "active": True, "clearance": ("secret", "live", False), "read_ins": []},
    ],
    "documents": [
        published_official(set()),
        published_official({"USA"}),
    ],
    "agreements": [{"parties": {0, 1, 2}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"}}],
    "releases": [
        {"doc": 0, "agreement": 0, "recipient": 1, "status": "approved", "expiry": None, "audience": set()},
        {"doc": 1, "agreement": 0, "recipient": 1, "status": "approved", "expiry": None, "audience": set()},
        {"doc": 1, "agreement": 0, "recipient": 2, "status": "approved", "expiry": None, "audience": set()},
    ],
    "stray_grants": [],
}


# A US secondee acting for the UK institute (the host grants SECRET; the home attests
# OFFICIAL-SENSITIVE), beside a UK colleague: the host's own findings at and above the cap, a US
# finding released to the UK under an agreement that keeps partner material from seconded staff,
# and a Canadian one under an agreement that allows it.
SECONDEE_AT_THE_HOST = {
    "users": [
        {
            "org": 1, "nationality": "USA", "active": True, "clearance": ("official-sensitive", "live", False),
            "read_ins": [], "acting_for": (0, "secret"),
        },
        {"org": 0, "nationality": "GBR", "active": True, "clearance": ("secret", "live", False), "read_ins": []},
    ],
    "documents": [
        published_official({"USA"}),
        {**published_official({"USA"}), "tier": "secret"},
        {**published_official({"GBR", "USA"}), "org": 1},
        {**published_official({"GBR", "USA"}), "org": 2},
    ],
    "agreements": [
        {"parties": {0, 1}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"}},
        {
            "parties": {0, 2}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"},
            "seconded_staff": True,
        },
    ],
    "releases": [
        {"doc": 2, "agreement": 0, "recipient": 0, "status": "approved", "expiry": None, "audience": set()},
        {"doc": 3, "agreement": 1, "recipient": 0, "status": "approved", "expiry": None, "audience": set()},
    ],
    "stray_grants": [],
}  # fmt: skip


@pytest.mark.django_db
@settings(max_examples=60, **SETTINGS)
@given(spec=world_st)
@example(spec=SECONDEE_AT_THE_HOST)
@example(spec=NARROWED_WITH_STALE_GROUP_ROW)
@example(spec=LOWERED_AFTER_RELEASE)
@example(spec=UPDATE_APPROVED)
@example(spec=NATIONALITY_NOT_THE_ORGANISATIONS)
def test_readable_documents_is_exactly_what_can_read_allows(spec):
    check_faces_agree(spec)


@pytest.mark.services
@pytest.mark.django_db
@settings(max_examples=40, **SETTINGS)
@given(spec=world_st)
@example(spec=NATIONALITY_NOT_THE_ORGANISATIONS)
@example(spec=UPDATE_APPROVED)
@example(spec=SECONDEE_AT_THE_HOST)
def test_readable_documents_is_exactly_what_can_read_allows_on_postgresql(spec):
    from django.db import connection

    assert connection.vendor == "postgresql", "run with DATABASE_URL set to PostgreSQL (make test-services)"
    check_faces_agree(spec)


@pytest.mark.django_db
def test_generated_worlds_reach_both_outcomes():
    """Guard against a vacuous property: a small fixed world where a partner can and cannot read."""
    spec = {
        "users": [
            {"org": 1, "nationality": "USA", "active": True, "clearance": ("secret", "live", False), "read_ins": []}
        ],
        "documents": [
            published_official({"USA"}),
            published_official(set()),
        ],
        "agreements": [
            {"parties": {0, 1}, "status": "active", "when": "live", "ceiling": "secret", "topics": {"cbrn"}}
        ],
        "releases": [
            {"doc": 0, "agreement": 0, "recipient": 1, "status": "approved", "expiry": None, "audience": set()},
            {"doc": 1, "agreement": 0, "recipient": 1, "status": "approved", "expiry": None, "audience": set()},
        ],
        "stray_grants": [],
    }
    users, docs = build_world(spec)
    assert list(readable_documents(users[0])) == [docs[0]]
    assert can_read(users[0], docs[1]).reason == Reason.NATIONALITY_NOT_RELEASABLE


@pytest.mark.django_db
def test_a_lowered_marking_reaches_partners_only_with_an_approved_revision():
    users, docs = build_world(LOWERED_AFTER_RELEASE)
    assert list(readable_documents(users[0])) == []
    assert can_read(users[0], docs[0]).reason == Reason.NOT_READ_IN_TO


@pytest.mark.django_db
def test_an_approved_update_reaches_partners_whoever_owns_the_compartment():
    users, docs = build_world(UPDATE_APPROVED)
    assert list(readable_documents(users[0])) == [docs[0]]
    assert can_read(users[0], docs[0])
    assert released_revision(users[0], docs[0]).number == 2


@pytest.mark.django_db
def test_generated_worlds_reach_the_recipient_country_gate():
    """The nationality passes and the organisation's country does not: both faces deny it."""
    users, docs = build_world(NATIONALITY_NOT_THE_ORGANISATIONS)
    gbr_national_at_us, us_national_at_ca = users
    assert list(readable_documents(gbr_national_at_us)) == [docs[1]]
    assert can_read(gbr_national_at_us, docs[0]).reason == Reason.COUNTRY_NOT_RELEASABLE
    # A US national at the Canadian institute: nationality listed, the organisation's country not.
    assert list(readable_documents(us_national_at_ca)) == []
    assert can_read(us_national_at_ca, docs[1]).reason == Reason.COUNTRY_NOT_RELEASABLE


@pytest.mark.django_db
def test_generated_worlds_reach_the_secondee_gates():
    """Acting for the host: its own findings up to the capped clearance, partner material only
    under an agreement that allows seconded staff; both faces deny the rest."""
    users, docs = build_world(SECONDEE_AT_THE_HOST)
    secondee, colleague = users
    assert set(readable_documents(secondee)) == {docs[0], docs[3]}
    assert can_read(secondee, docs[1]).reason == Reason.CLEARANCE_BELOW_TIER
    assert can_read(secondee, docs[2]).reason == Reason.SECONDEE_PARTNER_MATERIAL
    # The host's own staff read every one of them: the gates are the secondee's alone.
    assert set(readable_documents(colleague)) == set(docs)
