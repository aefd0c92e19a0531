"""The access policy's list cost on PostgreSQL: a reviewer's first page of documents.

Builds (once; reused while the size matches) a world of 20 organisations, 1,000 users and
N documents with their marking, agreements, releases and about 3 guardian grants per document
(300,000 at 100,000 documents), then times the first page (50 rows, newest first) rendered
through a minimal template, built three ways:

- policy:     readable_documents(reviewer)                  (every gate, one query)
- unfiltered: Document.objects.all()                         (the floor: no access control)
- guardian:   get_objects_for_user(reviewer, view_document)  (the usual generic approach)

and, when the UI's document list view exists, the same page end to end through the view.
Run by hand (bounded: about two minutes to build 100k the first time, seconds after):

    .venv/bin/python bench/bench_policy.py [--sizes 10000 100000] [--repeat 40]

Each size lives in its own database (accord_policy_bench, accord_policy_bench_10000; set
BENCH_POLICY_DB to use another name, for instance a copy of bench_load.py's 100,000-document world).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/"
COUNTRIES = ["GBR", "USA", "CAN", "FRA", "DEU", "JPN", "KOR", "AUS", "NZL", "SGP"]
COUNTRIES += ["NLD", "SWE", "NOR", "DNK", "FIN", "ITA", "ESP", "IRL", "CHE", "ISR"]
USERS_PER_ORG = 50
PAGE = 50


def db_name(size: int) -> str:
    # BENCH_POLICY_DB names the database for the largest size, e.g. a copy of bench_load's world.
    default = os.environ.get("BENCH_POLICY_DB", "accord_policy_bench")
    return default if size == 100_000 else f"{default}_{size}"


def prepare_database(name: str, size: int) -> bool:
    """Drop and recreate the bench database unless it already holds `size` documents."""
    import psycopg

    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            try:
                with psycopg.connect(PG + name) as bench:
                    if bench.execute("SELECT count(*) FROM sharing_document").fetchone()[0] == size:
                        return False
            except psycopg.errors.UndefinedTable:
                pass
            conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def copy_rows(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def populate(size: int) -> None:
    from django.contrib.auth.models import Permission
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import ClearanceGrant, Compartment, Organisation, Tier, User
    from sharing.models import (
        AgreementParty,
        Document,
        DocumentGroupObjectPermission,
        DocumentUserObjectPermission,
        Release,
        RiskDomain,
        SharingAgreement,
    )

    rng = random.Random(7)
    now = timezone.now()
    tiers = {t.code: t for t in Tier.objects.all()}
    domains = list(RiskDomain.objects.exclude(code="cbrn"))
    with transaction.atomic():
        orgs = [
            Organisation.objects.create(name=f"Institute {c}", short_name=f"bench-{c.lower()}", country_id=c)
            for c in COUNTRIES
        ]
        admin = User.objects.create(
            email="admin@bench.example", display_name="Admin", nationality_id="GBR", is_staff=True
        )
        users = User.objects.bulk_create(
            User(
                email=f"u{o}-{i}@bench.example",
                display_name=f"User {o}-{i}",
                organisation=org,
                nationality_id=org.country_id,
                password="!",  # noqa: S106 - unusable password
            )
            for o, org in enumerate(orgs)
            for i in range(USERS_PER_ORG)
        )
        ClearanceGrant.objects.bulk_create(
            ClearanceGrant(
                user=u,
                tier=tiers["secret" if rng.random() < 0.7 else "official-sensitive"],
                valid_from=now - timedelta(days=30),
                valid_until=now + timedelta(days=365),
                reason="bench",
            )
            for u in users
        )
        compartments = [Compartment.objects.create(code=f"bench-c{i}", name=f"C{i}") for i in range(5)]
        pairs = [(0, j) for j in range(1, 20)] + [(i, i + 1) for i in range(1, 19)]
        agreement_of, partners = {}, {o: [] for o in range(20)}
        for a, b in pairs:
            ag = SharingAgreement.objects.create(
                reference=f"BENCH-{a}-{b}",
                title="bench",
                effective_from=now - timedelta(days=30),
                expires_at=now + timedelta(days=365),
                tier_ceiling=tiers["secret"],
                status="active",
                created_by=admin,
            )
            ag.risk_domains.set(domains)
            AgreementParty.objects.bulk_create(
                AgreementParty(agreement=ag, organisation=orgs[x], signed_by=admin, signed_at=now) for x in (a, b)
            )
            agreement_of[(a, b)] = agreement_of[(b, a)] = ag.pk
            partners[a].append(b)
            partners[b].append(a)
        members = {o: [u.pk for u in users[o * USERS_PER_ORG : (o + 1) * USERS_PER_ORG]] for o in range(20)}
        tier_ids = [tiers["official"].pk] * 4 + [tiers["official-sensitive"].pk] * 4 + [tiers["secret"].pk] * 2
        origin = [rng.randrange(20) for _ in range(size)]
        docs = Document.objects.bulk_create(
            (
                Document(
                    title=f"Finding {n}",
                    originator_id=orgs[origin[n]].pk,
                    author_id=members[origin[n]][0],
                    status=rng.choices(["published", "draft", "withdrawn"], [92, 5, 3])[0],
                    tier_id=rng.choice(tier_ids),
                    created_at=now - timedelta(minutes=size - n),
                    published_at=now - timedelta(minutes=size - n),
                )
                for n in range(size)
            ),
            batch_size=5000,
        )
        view = Permission.objects.get(codename="view_document", content_type__app_label="sharing")
        releasable, doc_domains, doc_compartments = [], [], []
        releases, audiences = [], []
        for n, doc in enumerate(docs):
            o = origin[n]
            chosen = rng.sample(partners[o], min(3, len(partners[o])))
            countries = {COUNTRIES[o], *(COUNTRIES[p] for p in chosen), rng.choice(COUNTRIES)}
            releasable += [(doc.pk, c) for c in countries]
            doc_domains.append((doc.pk, rng.choice(domains).pk))
            if rng.random() < 0.05:
                doc_compartments.append((doc.pk, rng.choice(compartments).pk))
            for k, p in enumerate(chosen):
                status = rng.choices(["approved", "revoked", "requested"], [90, 5, 5])[0]
                audience = rng.sample(members[p], rng.choice([1, 2])) if k == 2 else []
                releases.append((doc.pk, agreement_of[(o, p)], orgs[p].pk, status, audience))
        copy_rows(Document.releasable_to.through._meta.db_table, ["document_id", "country_id"], releasable)
        copy_rows(Document.risk_domains.through._meta.db_table, ["document_id", "riskdomain_id"], doc_domains)
        copy_rows(Document.compartments.through._meta.db_table, ["document_id", "compartment_id"], doc_compartments)
        made = Release.objects.bulk_create(
            (
                Release(
                    document_id=d,
                    agreement_id=a,
                    recipient_id=r,
                    status=s,
                    requested_by=admin,
                    justification="bench",
                    revoked_at=now if s == "revoked" else None,
                )
                for d, a, r, s, _ in releases
            ),
            batch_size=5000,
        )
        group_of = {org.pk: org.group_id for org in orgs}
        group_rows, user_rows = [], []
        for release, (d, _, r, s, audience) in zip(made, releases, strict=True):
            audiences += [(release.pk, u) for u in audience]
            if s == "approved":
                if audience:
                    user_rows += [(view.pk, u, d) for u in audience]
                else:
                    group_rows.append((view.pk, group_of[r], d))
        copy_rows(Release.audience.through._meta.db_table, ["release_id", "user_id"], audiences)
        copy_rows(
            DocumentGroupObjectPermission._meta.db_table, ["permission_id", "group_id", "content_object_id"], group_rows
        )
        copy_rows(
            DocumentUserObjectPermission._meta.db_table, ["permission_id", "user_id", "content_object_id"], user_rows
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def measure(size: int, repeat: int) -> dict:
    from django.contrib.auth.models import Permission  # noqa: F401 - app registry ready
    from django.db import connection
    from django.template import engines
    from django.test.utils import CaptureQueriesContext
    from guardian.shortcuts import get_objects_for_user

    from accounts.models import User
    from sharing.models import Document, DocumentGroupObjectPermission, DocumentUserObjectPermission
    from sharing.policy import readable_documents

    reviewer = (
        User.objects.filter(organisation__short_name="bench-usa", clearance_grants__tier__code="secret")
        .order_by("pk")
        .first()
    )
    template = engines["django"].from_string(
        "<table>{% for d in docs %}<tr><td>{{ d.title }}</td><td>{{ d.tier.name }}</td>"
        "<td>{{ d.originator.short_name }}</td><td>{{ d.created_at|date:'Y-m-d H:i' }}</td></tr>{% endfor %}</table>"
    )

    def page(queryset) -> str:
        rows = list(queryset.select_related("tier", "originator").order_by("-created_at")[:PAGE])
        return template.render({"docs": rows})

    variants = {
        "policy": lambda: page(readable_documents(reviewer)),
        "unfiltered": lambda: page(Document.objects.all()),
        "guardian": lambda: page(
            get_objects_for_user(reviewer, "sharing.view_document", klass=Document, accept_global_perms=False)
        ),
    }
    view = list_view_client(reviewer)
    if view:
        variants["policy, through the view"] = view
    timings = {name: [] for name in variants}
    queries = {}
    for name, run in variants.items():
        for _ in range(3):
            run()
        with CaptureQueriesContext(connection) as ctx:
            run()
        queries[name] = len(ctx.captured_queries)
    for _ in range(repeat):  # interleaved, so background load hits every variant alike
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            timings[name].append((time.perf_counter() - start) * 1000)
    plan = readable_documents(reviewer).order_by("-created_at")[:PAGE].explain(analyze=True)
    return {
        "size": size,
        "grants": DocumentGroupObjectPermission.objects.count() + DocumentUserObjectPermission.objects.count(),
        "readable": readable_documents(reviewer).count(),
        "results": {
            name: {
                "p50": statistics.median(ms),
                "p95": statistics.quantiles(ms, n=20)[18],
                "queries": queries[name],
            }
            for name, ms in timings.items()
        },
        "plan": plan,
    }


def list_view_client(reviewer):
    """A callable fetching the UI's document list through the test Client, or None if no such view."""
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    for name in ("sharing:document_list", "sharing:documents", "documents:list"):
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        from tests.factories import login_verified

        client = Client()
        login_verified(client, reviewer)

        def fetch(client=client, url=url):
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        return fetch
    return None


def child(size: int, repeat: int) -> None:
    name = db_name(size)
    fresh = prepare_database(name, size)
    os.environ["DATABASE_URL"] = PG + name
    os.environ.setdefault("ACCORD_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["ACCORD_LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    # A reused database is migrated too, so indexes added since it was built are measured.
    call_command("migrate", verbosity=0)
    if fresh:
        populate(size)
    built = time.perf_counter() - started
    result = measure(size, repeat)
    result["build_seconds"] = round(built, 1) if fresh else None
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat)
        return
    runs = []
    for size in args.sizes:
        # One process per size: Django binds to one database per process.
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print("| documents | grants | readable | variant | p50 ms | p95 ms | queries | p50 vs unfiltered |")
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        floor = run["results"]["unfiltered"]["p50"]
        for name, r in run["results"].items():
            print(
                f"| {run['size']:,} | {run['grants']:,} | {run['readable']:,} | {name} | {r['p50']:.1f} | "
                f"{r['p95']:.1f} | {r['queries']} | {r['p50'] / floor:.2f}x |"
            )
    for run in runs:
        print(f"\nPlan of the policy page at {run['size']:,} documents (built in {run['build_seconds']} s):\n")
        print(run["plan"])


if __name__ == "__main__":
    main()
