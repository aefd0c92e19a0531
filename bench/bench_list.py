"""The price of the read policy on a reviewer's first page, and of the list page around it.

Two ratios, each measured against its baseline in the same process, interleaved:

- **policy query**: the first 50 rows, newest first, of `readable_documents(reviewer)` ÷ the
  same page of `Document.objects.all()` (both with tier and originator, rendered through one
  small template); also through a second connection with server-side binding and psycopg's
  prepared statements (`prepare_threshold=0`), to show what planning costs;
- **list page**: the reviewer's `sharing:document_list` through the test client ÷ the bench's
  bare list (bench/load_urls.py: the same page function over every document, no policy, no
  audit event).

The world (one database per size, accord_kept_list_<size>, built once with COPY and reused):
20 organisations, 1,000 users, 37 agreements, N documents (92% published) each with its first
revision, releasable to its recipients' countries plus one more, 5% in a compartment, up to
three releases (90% approved, pinning revision 1; the third narrowed to named readers), the
guardian rows derived from them, and the kept visibility rebuilt (`visibility.rebuild`).

    .venv/bin/python bench/bench_list.py [--sizes 10000 100000 1000000] [--rounds 3] [--repeat 15]

Each round runs every variant `repeat` times interleaved; a round's figure is its median; the
table gives min / median / max over the rounds of each ratio, and the load average before and
after. Not a test: nothing depends on these timings.
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
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/"
COUNTRIES = ["GBR", "USA", "CAN", "FRA", "DEU", "JPN", "KOR", "AUS", "NZL", "SGP"]
COUNTRIES += ["NLD", "SWE", "NOR", "DNK", "FIN", "ITA", "ESP", "IRL", "CHE", "ISR"]
USERS_PER_ORG = 50
PAGE = 50
CHUNK = 50_000


def db_name(size: int) -> str:
    return f"{os.environ.get('BENCH_LIST_DB', 'accord_kept_list')}_{size}"


def prepare_database(name: str, size: int) -> bool:
    """Create the database unless it already holds `size` documents; True when it must be filled."""
    import psycopg

    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
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
        DocumentRevision,
        DocumentUserObjectPermission,
        Release,
        RiskDomain,
        SharingAgreement,
    )
    from sharing.visibility import rebuild

    rng = random.Random(7)
    now = timezone.now()
    tiers = {t.code: t for t in Tier.objects.all()}
    domains = list(RiskDomain.objects.exclude(code="cbrn"))
    with transaction.atomic():
        orgs = [
            Organisation.objects.create(name=f"Institute {c}", short_name=f"bench-{c.lower()}", country_id=c)
            for c in COUNTRIES
        ]
        admin = User.objects.create(email="admin@bench.example", display_name="Admin", nationality_id="GBR")
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
        tier_code = {t.pk: t.code for t in tiers.values()}
        tier_ids = [tiers["official"].pk] * 4 + [tiers["official-sensitive"].pk] * 4 + [tiers["secret"].pk] * 2
        view = Permission.objects.get(codename="view_document", content_type__app_label="sharing")
        group_of = {org.pk: org.group_id for org in orgs}
        release_id = 0
        models = [("Acme", f"Model {m}") for m in range(40)]
        for first in range(1, size + 1, CHUNK):  # in chunks, so memory stays bounded at 1,000,000
            documents, revisions, releasable, rev_releasable = [], [], [], []
            doc_domains, doc_compartments, rev_compartments = [], [], []
            releases, audiences, group_rows, user_rows = [], [], [], []
            for n in range(first, min(first + CHUNK, size + 1)):
                o = rng.randrange(20)
                tier_id = rng.choice(tier_ids)
                status = rng.choices(["published", "draft", "withdrawn"], [92, 5, 3])[0]
                created = now - timedelta(seconds=30 * (size - n))
                developer, model = rng.choice(models)
                documents.append(
                    (
                        n,
                        uuid.uuid4(),
                        f"Finding {n}",
                        "",
                        "",
                        orgs[o].pk,
                        members[o][0],
                        status,
                        developer,
                        model,
                        "",
                        tier_id,
                        1,
                        created,
                        created,
                        created,
                    )
                )
                chosen = rng.sample(partners[o], min(3, len(partners[o])))
                countries = {COUNTRIES[o], *(COUNTRIES[p] for p in chosen), rng.choice(COUNTRIES)}
                releasable += [(n, c) for c in countries]
                rev_releasable += [(n, c) for c in countries]
                domain = rng.choice(domains)
                doc_domains.append((n, domain.pk))
                compartment = rng.choice(compartments) if rng.random() < 0.05 else None
                if compartment is not None:
                    doc_compartments.append((n, compartment.pk))
                    rev_compartments.append((n, compartment.pk))
                snapshot = {
                    "title": f"Finding {n}",
                    "summary": "",
                    "body": "",
                    "model_developer": developer,
                    "model_name": model,
                    "model_version": "",
                    "status": status,
                    "risk_domains": [domain.code],
                    "marking": {
                        "tier": tier_code[tier_id],
                        "releasable_to": sorted(countries),
                        "compartments": [compartment.code] if compartment else [],
                        "caveats": [],
                        "originator_country": COUNTRIES[o],
                    },
                }
                revisions.append((n, n, 1, members[o][0], created, json.dumps(snapshot), "[]", False, "", tier_id))
                for k, p in enumerate(chosen):
                    rstatus = rng.choices(["approved", "revoked", "requested"], [90, 5, 5])[0]
                    audience = rng.sample(members[p], rng.choice([1, 2])) if k == 2 else []
                    release_id += 1
                    releases.append(
                        (
                            release_id,
                            uuid.uuid4(),
                            n,
                            agreement_of[(o, p)],
                            orgs[p].pk,
                            n if rstatus != "requested" else None,
                            "bench",
                            rstatus,
                            admin.pk,
                            created,
                            now if rstatus == "revoked" else None,
                            "",
                            "",
                        )
                    )
                    audiences += [(release_id, u) for u in audience]
                    if rstatus == "approved":
                        if audience:
                            user_rows += [(view.pk, u, n) for u in audience]
                        else:
                            group_rows.append((view.pk, group_of[orgs[p].pk], n))
            copy_rows(
                Document._meta.db_table,
                [
                    "id",
                    "code",
                    "title",
                    "summary",
                    "body",
                    "originator_id",
                    "author_id",
                    "status",
                    "model_developer",
                    "model_name",
                    "model_version",
                    "tier_id",
                    "revision",
                    "created_at",
                    "updated_at",
                    "published_at",
                ],
                documents,
            )
            copy_rows(
                DocumentRevision._meta.db_table,
                [
                    "id",
                    "document_id",
                    "number",
                    "author_id",
                    "created_at",
                    "snapshot",
                    "changed_fields",
                    "marking_changed",
                    "note",
                    "tier_id",
                ],
                revisions,
            )
            copy_rows(Document.releasable_to.through._meta.db_table, ["document_id", "country_id"], releasable)
            copy_rows(
                DocumentRevision.releasable_to.through._meta.db_table,
                ["documentrevision_id", "country_id"],
                rev_releasable,
            )
            copy_rows(Document.risk_domains.through._meta.db_table, ["document_id", "riskdomain_id"], doc_domains)
            copy_rows(Document.compartments.through._meta.db_table, ["document_id", "compartment_id"], doc_compartments)
            copy_rows(
                DocumentRevision.compartments.through._meta.db_table,
                ["documentrevision_id", "compartment_id"],
                rev_compartments,
            )
            copy_rows(
                Release._meta.db_table,
                [
                    "id",
                    "code",
                    "document_id",
                    "agreement_id",
                    "recipient_id",
                    "revision_id",
                    "justification",
                    "status",
                    "requested_by_id",
                    "requested_at",
                    "revoked_at",
                    "decision_reason",
                    "suspension_reason",
                ],
                releases,
            )
            copy_rows(Release.audience.through._meta.db_table, ["release_id", "user_id"], audiences)
            copy_rows(
                DocumentGroupObjectPermission._meta.db_table,
                ["permission_id", "group_id", "content_object_id"],
                group_rows,
            )
            copy_rows(
                DocumentUserObjectPermission._meta.db_table,
                ["permission_id", "user_id", "content_object_id"],
                user_rows,
            )
        with connection.cursor() as cursor:
            for table in (Document, DocumentRevision, Release):
                name = table._meta.db_table  # from the models, no input
                sql = f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))"  # noqa: S608
                cursor.execute(sql)
        rebuild()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def measure(size: int, rounds: int, repeat: int) -> dict:
    from django.db import connection, connections
    from django.template import engines
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.models import User
    from sharing.models import Document, Visibility
    from sharing.policy import readable_documents
    from tests.factories import login_verified

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
        assert len(rows) == PAGE
        return template.render({"docs": rows})

    client = Client()
    login_verified(client, reviewer)
    bare = Client()
    login_verified(bare, reviewer)

    def view(c, url):
        def fetch():
            response = c.get(url)
            assert response.status_code == 200, response.status_code

        return fetch

    variants = {
        "unfiltered": lambda: page(Document.objects.all()),
        "policy": lambda: page(readable_documents(reviewer)),
        "policy, prepared": lambda: page(readable_documents(reviewer).using("prepared")),
        "bare list page": view(bare, "/bench/bare/documents/"),
        "list page": view(client, reverse("sharing:document_list")),
    }
    queries = {}
    for name, run in variants.items():
        for _ in range(3):
            run()
        alias = "prepared" if "prepared" in name else "default"
        with CaptureQueriesContext(connections[alias]) as ctx:
            run()
        queries[name] = len(ctx.captured_queries)
    load_before = os.getloadavg()
    per_round = {name: [] for name in variants}
    for _ in range(rounds):
        timings = {name: [] for name in variants}
        for _ in range(repeat):  # interleaved, so background load hits every variant alike
            for name, run in variants.items():
                start = time.perf_counter()
                run()
                timings[name].append((time.perf_counter() - start) * 1000)
        for name, ms in timings.items():
            per_round[name].append(statistics.median(ms))
    load_after = os.getloadavg()
    ratios = {
        "policy ÷ unfiltered": [p / u for p, u in zip(per_round["policy"], per_round["unfiltered"], strict=True)],
        "policy, prepared ÷ unfiltered": [
            p / u for p, u in zip(per_round["policy, prepared"], per_round["unfiltered"], strict=True)
        ],
        "list page ÷ bare list page": [
            p / u for p, u in zip(per_round["list page"], per_round["bare list page"], strict=True)
        ],
    }
    plan = readable_documents(reviewer).select_related("tier", "originator").order_by("-created_at")[:PAGE]
    return {
        "size": size,
        "kept": Visibility.objects.count(),
        "readable": readable_documents(reviewer)[:100_000].count() if size <= 100_000 else None,
        "ms": per_round,
        "ratios": ratios,
        "queries": queries,
        "load": [round(x, 1) for x in (*load_before, *load_after)],
        "plan": plan.explain(analyze=True, buffers=True),
        "vendor": connection.vendor,
    }


def child(size: int, rounds: int, repeat: int) -> None:
    name = db_name(size)
    fresh = prepare_database(name, size)
    os.environ["DATABASE_URL"] = PG + name
    os.environ.setdefault("ACCORD_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.load_settings"
    os.environ["ACCORD_LOG_LEVEL"] = "WARNING"
    # One process: its memory cache sees every write, as a shared Redis would for many.
    os.environ.setdefault("ACCORD_MENU_CACHE", "1")
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    # The same database through server-side binding, so psycopg prepares the statements it repeats.
    prepared = {**settings.DATABASES["default"]}
    prepared["OPTIONS"] = {**prepared.get("OPTIONS", {}), "server_side_binding": True, "prepare_threshold": 0}
    connections.settings["prepared"] = prepared
    settings.DATABASES["prepared"] = prepared
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if fresh:
        populate(size)
    built = time.perf_counter() - started
    result = measure(size, rounds, repeat)
    result["build_seconds"] = round(built, 1) if fresh else None
    print(json.dumps(result))


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rounds, args.repeat)
        return
    runs = []
    for size in args.sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(size),
                "--rounds",
                str(args.rounds),
                "--repeat",
                str(args.repeat),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print("| documents | kept rows | variant | ms, min / median / max of round medians | queries |")
    print("|---|---|---|---|---|")
    for run in runs:
        for name, ms in run["ms"].items():
            print(f"| {run['size']:,} | {run['kept']:,} | {name} | {spread(ms, '{:.1f}')} | {run['queries'][name]} |")
    print("\n| documents | ratio | min / median / max over rounds | load average before → after |")
    print("|---|---|---|---|")
    for run in runs:
        load = run["load"]
        for name, values in run["ratios"].items():
            print(f"| {run['size']:,} | {name} | {spread(values)}× | {load[0]} → {load[3]} |")
    for run in runs:
        print(f"\nPlan of the policy page at {run['size']:,} documents (built in {run['build_seconds']} s):\n")
        print(run["plan"])


if __name__ == "__main__":
    main()
