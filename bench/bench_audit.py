"""Audit-trail benchmark: append latency, request overhead, concurrent throughput, verify speed.

    .venv/bin/python bench/bench_audit.py [--pg URL] [--verify-events N] [--quick] [--no-write]

Runs each measurement in a fresh child process against its own database (a temporary SQLite
file, and the PostgreSQL database named in --pg, which is dropped and re-created), prints the
figures, and rewrites the audit section of docs/BENCHMARKS.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/accord_audit_bench"
DOC = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- audit:start -->", "<!-- audit:end -->"


# ---------------------------------------------------------------------------------------------
# Child side: one measurement, one database, JSON on stdout.


def _setup(db_url: str | None, var_dir: str) -> None:
    os.environ["ACCORD_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
    if db_url:
        os.environ["DATABASE_URL"] = db_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def child_append(n: int) -> dict:
    from django.db import transaction

    from audit.context import AuditContext, activate
    from audit.models import Action
    from audit.services import record

    activate(AuditContext(request_id="b" * 32, ip="192.0.2.10", user_agent="Mozilla/5.0 bench"))
    for _ in range(50):  # warm-up
        record(Action.DOCUMENT_VIEWED, target=("sharing.document", "warm", "warm-up"))
    own, inside = [], []
    for i in range(n):
        t0 = time.perf_counter()
        record(Action.DOCUMENT_VIEWED, target=("sharing.document", str(i), "Finding"), details={"i": i})
        own.append(time.perf_counter() - t0)
        with transaction.atomic():
            t0 = time.perf_counter()
            record(Action.DOCUMENT_UPDATED, target=("sharing.document", str(i), "Finding"), details={"i": i})
            inside.append(time.perf_counter() - t0)
    ms = 1000
    return {
        "own_p50": _pct(own, 0.5) * ms,
        "own_p95": _pct(own, 0.95) * ms,
        "in_tx_p50": _pct(inside, 0.5) * ms,
        "in_tx_p95": _pct(inside, 0.95) * ms,
        "n": n,
    }


def _plain_view(request):
    from django.shortcuts import render

    return render(request, "home.html")


def _audited_view(request):
    from django.shortcuts import render

    from audit.models import Action
    from audit.services import record

    record(Action.DOCUMENT_VIEWED, actor=request.user, target=("sharing.document", "d", "Finding"))
    return render(request, "home.html")


def _write_plain_view(request):
    from django.db import transaction
    from django.shortcuts import render

    from accounts.models import User

    with transaction.atomic():
        User.objects.filter(pk=request.user.pk).update(display_name=f"Bench {time.time_ns()}")
    return render(request, "home.html")


def _write_audited_view(request):
    from django.db import transaction
    from django.shortcuts import render

    from accounts.models import User
    from audit.models import Action
    from audit.services import record

    with transaction.atomic():
        User.objects.filter(pk=request.user.pk).update(display_name=f"Bench {time.time_ns()}")
        record(Action.USER_UPDATED, actor=request.user, target=request.user, details={"field": "display_name"})
    return render(request, "home.html")


def _urls():
    from django.urls import path

    from portal.urls import urlpatterns as portal_urls

    return [
        path("plain/", _plain_view),
        path("audited/", _audited_view),
        path("write-plain/", _write_plain_view),
        path("write-audited/", _write_audited_view),
        *portal_urls,
    ]


urlpatterns: list = []


def child_request(n: int) -> dict:
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.models import Country
    from tests.factories import login_verified

    global urlpatterns
    urlpatterns = _urls()
    from accounts.models import User

    user = User.objects.create_user(
        "bench@example.org", "bench-password-123", display_name="Bench", nationality=Country.objects.get(code="GBR")
    )
    client = Client()
    login_verified(client, user)
    out = {"n": n}
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False):
        for kind, plain_url, audited_url in (
            ("read", "/plain/", "/audited/"),
            ("write", "/write-plain/", "/write-audited/"),
        ):
            plain, audited = [], []
            for _ in range(30):
                client.get(plain_url)
                client.get(audited_url)
            for i in range(n):
                # Interleaved, alternating which goes first, so drift on a shared machine hits both.
                pair = ((plain_url, plain), (audited_url, audited))
                for url, bucket in pair if i % 2 else pair[::-1]:
                    t0 = time.perf_counter()
                    response = client.get(url)
                    bucket.append(time.perf_counter() - t0)
                    assert response.status_code == 200, response.status_code
            out[kind] = {
                "plain_p50": _pct(plain, 0.5) * 1000,
                "plain_p95": _pct(plain, 0.95) * 1000,
                "audited_p50": _pct(audited, 0.5) * 1000,
                "audited_p95": _pct(audited, 0.95) * 1000,
                "overhead_p50": _pct(audited, 0.5) / _pct(plain, 0.5) - 1,
                "overhead_mean": statistics.fmean(audited) / statistics.fmean(plain) - 1,
            }
    return out


def child_commit(n: int) -> dict:
    """The database's own floor: a one-row INSERT and COMMIT, no audit code at all."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit (x integer)")
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_commit (x) VALUES (1)")
        times.append(time.perf_counter() - t0)
    return {"p50": _pct(times, 0.5) * 1000, "p95": _pct(times, 0.95) * 1000}


def _writer(count: int, start_at: float, queue) -> None:
    from django.db import connection, connections

    from audit.models import Action
    from audit.services import record

    # Connect before the clock starts, as a web worker with a persistent connection would be:
    # what is measured is appending, not eight connection handshakes.
    connection.ensure_connection()
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(count):
        record(Action.DOCUMENT_VIEWED, target=("sharing.document", str(i), "Finding"))
    connections.close_all()
    queue.put(time.time())


def child_throughput(writers: int, per_writer: int) -> dict:
    import multiprocessing

    from django.db import connections

    from audit.models import AuditEvent
    from audit.verify import verify_chain

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.0
    procs = [ctx.Process(target=_writer, args=(per_writer, start_at, queue)) for _ in range(writers)]
    for p in procs:
        p.start()
    ends = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(ends) - start_at
    total = AuditEvent.objects.count()
    seqs_ok = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() == total
    result = verify_chain()
    return {
        "writers": writers,
        "events": total,
        "seconds": elapsed,
        "per_second": total / elapsed,
        "gap_free": seqs_ok,
        "verified": result.ok,
        "forks": 0 if result.ok and seqs_ok else None,
        "load": os.getloadavg()[0],
    }


def _fake_rows(n: int, version: int = 2):
    """A valid chain of n realistic events under encoding `version`, computed here instead of
    through record() so a million can be written in seconds."""
    from datetime import UTC, datetime, timedelta

    from audit.chain import GENESIS_HASH, compute_hash, normalise_details

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    ips = [f"192.0.2.{i}" for i in range(1, 60)] + [f"2001:db8::{i:x}" for i in range(1, 20)]
    for seq in range(1, n + 1):
        details = normalise_details({"tier": "official-sensitive", "n": seq} if seq % 4 == 0 else {})
        fields = {
            "seq": seq,
            "at": t0 + timedelta(microseconds=seq * 1370),
            "actor_id": seq % 997 + 1,
            "actor_label": f"Analyst {seq % 997} <analyst{seq % 997}@ukasi.example>",
            "organisation_id": seq % 20 + 1,
            "action": "document.viewed" if seq % 3 else "attachment.downloaded",
            "outcome": "allowed" if seq % 50 else "denied",
            "target_type": "sharing.document",
            "target_id": f"6f1c2d3e-0000-4000-8000-{seq:012d}",
            "target_label": f"Finding {seq % 10000}: jailbreak transfer",
            "request_id": f"{seq:032x}",
            "ip": ips[seq % len(ips)],
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130",
            "details": details,
            "version": version,
            "prev_hash": prev,
            "position": seq,
        }
        fields["hash"] = prev = compute_hash(fields)
        yield fields


def child_fill(n: int, version: int = 2) -> dict:
    from django.db import connection, transaction

    from audit.chain import HASHED_FIELDS
    from audit.models import ChainHead

    COLUMNS = (*HASHED_FIELDS, "hash", "position")  # noqa: N806 (the old rows: linked as written)
    t0 = time.perf_counter()
    last = None
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY audit_auditevent ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for fields in _fake_rows(n, version):
                row = [fields[c] for c in COLUMNS]
                row[13] = json.dumps(row[13])
                copy.write_row(row)
                last = fields
    else:
        batch = []
        sql = f"INSERT INTO audit_auditevent ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor
            for fields in _fake_rows(n, version):
                row = [fields[c] for c in COLUMNS]
                row[1] = connection.ops.adapt_datetimefield_value(row[1])
                row[13] = json.dumps(row[13])
                batch.append(row)
                last = fields
                if len(batch) == 10000:
                    raw.executemany(sql, batch)
                    batch = []
            if batch:
                raw.executemany(sql, batch)
    ChainHead.objects.filter(pk=1).update(seq=last["seq"], hash=last["hash"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_auditevent")
    return {"filled": n, "seconds": time.perf_counter() - t0}


def child_verify(workers: int) -> dict:
    import resource

    from audit.verify import verify_chain

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    result = verify_chain(workers=workers)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "ok": result.ok,
        "events": result.events,
        "seconds": elapsed,
        "per_second": result.events / elapsed,
        "rss_before_mib": base / 1024,
        "rss_peak_mib": peak / 1024,
        "child_rss_peak_mib": children / 1024,
        "workers": workers,
    }


# ---------------------------------------------------------------------------------------------
# The log with a sequencer (`--log`): writers only insert, a sequencer process seals.

_BARE_DDL = """CREATE TABLE IF NOT EXISTS bench_bare (
    seq bigserial PRIMARY KEY, at timestamptz NOT NULL, actor_id bigint, actor_label varchar(300) NOT NULL,
    organisation_id bigint, action varchar(60) NOT NULL, outcome varchar(10) NOT NULL,
    target_type varchar(60) NOT NULL, target_id varchar(64) NOT NULL, target_label varchar(300) NOT NULL,
    request_id varchar(64) NOT NULL, ip inet, user_agent varchar(300) NOT NULL, details jsonb NOT NULL,
    version smallint NOT NULL)"""
_BARE_INSERT = (
    "INSERT INTO bench_bare (at, actor_id, actor_label, organisation_id, action, outcome, target_type, target_id, "
    "target_label, request_id, ip, user_agent, details, version) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::inet, %s, %s::jsonb, 3)"
)
_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130"


def _log_writer(kind: str, count: int, start_at: float, queue, tag: str, index: int) -> None:
    from django.db import connection, connections
    from django.utils import timezone

    from audit.context import AuditContext, activate
    from audit.models import Action
    from audit.services import record

    activate(AuditContext(request_id=tag, ip="192.0.2.10", user_agent=_UA))
    connection.ensure_connection()
    while time.time() < start_at:
        time.sleep(0.001)
    with connection.cursor() as cursor:
        for i in range(count):
            target = ("sharing.document", f"6f1c2d3e-0000-4000-8000-{index:04d}{i:08d}", f"Finding {i}")
            if kind == "audit":
                # Outside a transaction: the insert is its own transaction, one commit, as a read is.
                record(Action.DOCUMENT_VIEWED, target=target, details={"i": i})
            else:
                cursor.execute(
                    _BARE_INSERT,
                    [timezone.now(), None, "system", None, Action.DOCUMENT_VIEWED, "allowed", *target, tag,
                     "192.0.2.10", _UA, json.dumps({"i": i})],
                )  # fmt: skip
    connections.close_all()
    queue.put(time.time())


def _log_sequencer(stop) -> None:
    from django.db import connections

    from audit import sequencer

    try:
        sequencer.run(idle=0.005, should_stop=stop.is_set)
    finally:
        connections.close_all()


def child_log_round(mode: str, writers: int, per_writer: int, tag: str, seal: bool = True) -> dict:
    """One round: `writers` processes each append (or insert a bare row) `per_writer` times; for
    the audit, a sequencer process seals meanwhile, as in production."""
    import multiprocessing

    from django.conf import settings
    from django.db import connection, connections

    kind = mode
    settings.ACCORD_AUDIT_SEALING = "sequencer"
    with connection.cursor() as cursor:
        cursor.execute(_BARE_DDL)
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    queue, stop = ctx.Queue(), ctx.Event()
    helper = ctx.Process(target=_log_sequencer, args=(stop,)) if kind == "audit" and seal else None
    if helper:
        helper.start()
    start_at = time.time() + 1.0
    procs = [ctx.Process(target=_log_writer, args=(kind, per_writer, start_at, queue, tag, i)) for i in range(writers)]
    for p in procs:
        p.start()
    ends = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(ends) - start_at
    load = os.getloadavg()[0]
    out = {"kind": kind, "events": writers * per_writer, "seconds": elapsed,
           "per_second": writers * per_writer / elapsed, "load": load}  # fmt: skip
    if helper:
        from audit.models import AuditEvent

        deadline = time.time() + 120
        while AuditEvent.objects.filter(request_id=tag, position__isnull=True).exists() and time.time() < deadline:
            time.sleep(0.02)
        stop.set()
        helper.join(timeout=60)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM sealed_at - at)), "
                "max(extract(epoch FROM sealed_at - at)), count(*) FILTER (WHERE position IS NULL) "
                "FROM audit_auditevent WHERE request_id = %s",
                [tag],
            )
            (p50, p99), worst, unsealed = cursor.fetchone()
        out |= {"lag_p50": float(p50), "lag_p99": float(p99), "lag_max": float(worst), "unsealed": unsealed}
    elif kind == "audit":  # the insert alone, nothing sealing meanwhile (a diagnostic round)
        from audit import sequencer

        sequencer.seal_pending(sign=False)
    return out


def child_log_verify(n: int) -> dict:
    """n version-3 events inserted set-wise, sealed by the sequencer, then verified in full (one
    and two workers) and incrementally."""
    from django.db import connection

    from audit import sequencer
    from audit.chain import content_sql, sha256_hex_sql
    from audit.verify import verify_chain

    columns = "seq, at, actor_id, actor_label, organisation_id, action, outcome, target_type, target_id, " \
        "target_label, request_id, ip, user_agent, details, version"  # fmt: skip
    fill = (
        f"INSERT INTO audit_auditevent ({columns}, digest) SELECT v.*, {sha256_hex_sql(content_sql('postgresql', 'v'))} "  # noqa: S608
        "FROM (SELECT nextval('audit_auditevent_seq_seq') AS seq, "
        "clock_timestamp() AS at, (g %% 997 + 1)::bigint AS actor_id, "
        "'Analyst ' || (g %% 997) || ' <analyst' || (g %% 997) || '@ukasi.example>' AS actor_label, "
        "(g %% 20 + 1)::bigint AS organisation_id, "
        "CASE WHEN g %% 3 = 0 THEN 'attachment.downloaded' ELSE 'document.viewed' END AS action, "
        "CASE WHEN g %% 50 = 0 THEN 'denied' ELSE 'allowed' END AS outcome, 'sharing.document' AS target_type, "
        "'6f1c2d3e-0000-4000-8000-' || lpad(g::text, 12, '0') AS target_id, "
        "'Finding ' || (g %% 10000) || ': jailbreak transfer' AS target_label, lpad(to_hex(g), 32, '0') AS request_id, "
        "('192.0.2.' || (g %% 250 + 1))::inet AS ip, %s AS user_agent, "
        "CASE WHEN g %% 4 = 0 THEN jsonb_build_object('tier', 'official-sensitive', 'n', g) ELSE '{}'::jsonb END "
        "AS details, 3::smallint AS version FROM generate_series(1, %s) g) v"
    )
    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        cursor.execute(fill, [_UA, n])
        inserted = time.perf_counter() - t0
    t0 = time.perf_counter()
    sealed = sequencer.seal_pending(limit=20000)
    seal_seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    out = {"events": n, "insert_seconds": inserted, "sealed": sealed, "seal_per_second": sealed / seal_seconds}
    for workers in (1, 2):
        t0 = time.perf_counter()
        result = verify_chain(workers=workers, chunk_size=20000)
        elapsed = time.perf_counter() - t0
        out[f"verify_{workers}"] = {"ok": result.ok, "events": result.events, "per_second": result.events / elapsed,
                                    "load": os.getloadavg()[0]}  # fmt: skip
    # The routine job: record the run, add a little, verify from the last verified checkpoint.
    from django.utils import timezone

    from audit.services import verification_record

    verification_record(result=result, started_at=timezone.now(), trigger="bench")
    with connection.cursor() as cursor:
        cursor.execute(fill, [_UA, 2000])
    sequencer.seal_pending(limit=20000)
    t0 = time.perf_counter()
    result = verify_chain(incremental=True, chunk_size=20000)
    out["incremental"] = {"ok": result.ok, "events": result.events, "from_seq": result.from_seq,
                          "seconds": time.perf_counter() - t0}  # fmt: skip
    return out


def child_main(args) -> None:
    _setup(args.db or None, args.var)
    spec = json.loads(args.spec)
    fn = {"append": child_append, "request": child_request, "throughput": child_throughput, "commit": child_commit,
          "fill": child_fill, "verify": child_verify, "log_round": child_log_round,
          "log_verify": child_log_verify}[spec.pop("kind")]  # fmt: skip
    print(json.dumps(fn(**spec)))


# ---------------------------------------------------------------------------------------------
# Parent side: databases, children, report.


def _pg_recreate(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


LOADS: list[float] = []


def _run(db: str | None, var: str, **spec) -> dict:
    cmd = [sys.executable, __file__, "--child", "--db", db or "", "--var", var, "--spec", json.dumps(spec)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    LOADS.append(os.getloadavg()[0])  # sampled after every measurement: the machine is shared
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fresh(backend: str, pg_url: str, workdir: str) -> tuple[str | None, str]:
    var = tempfile.mkdtemp(prefix=f"{backend}-", dir=workdir)
    if backend == "pg":
        _pg_recreate(pg_url)
        return pg_url, var
    return None, var


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--throughput-runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--var", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--report-only", action="store_true", help="rewrite the section from var/bench_audit.json")
    parser.add_argument("--log", action="store_true", help="the sequencer's figures only (docs section audit-log)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-writer", type=int, default=1500)
    args = parser.parse_args()
    if args.child:
        return child_main(args)
    if args.log:
        return main_log(args)
    if args.report_only:
        return write_report(json.loads((ROOT / "var" / "bench_audit.json").read_text()))

    appends, requests, per_writer = (200, 100, 50) if args.quick else (2000, 500, 250)
    verify_events = 20_000 if args.quick else args.verify_events
    results: dict = {"appends": {}, "requests": {}, "verify": {}, "load_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as workdir:
        for backend in ("sqlite", "pg"):
            db, var = _fresh(backend, args.pg, workdir)
            results["appends"][backend] = _run(db, var, kind="append", n=appends)
            results["appends"][backend]["bare_commit"] = _run(db, var, kind="commit", n=appends)
            print(backend, "append", results["appends"][backend], flush=True)
            db, var = _fresh(backend, args.pg, workdir)
            results["requests"][backend] = _run(db, var, kind="request", n=requests)
            print(backend, "request", results["requests"][backend], flush=True)
        # Repeated, each on a fresh database: on a shared machine one run says little.
        results["throughput_runs"] = []
        for _ in range(args.throughput_runs):
            db, var = _fresh("pg", args.pg, workdir)
            run = _run(db, var, kind="throughput", writers=8, per_writer=per_writer)
            results["throughput_runs"].append(run)
            print("pg throughput", run, flush=True)
        runs = sorted(results["throughput_runs"], key=lambda x: x["per_second"])
        results["throughput"] = runs[len(runs) // 2]
        for backend in ("sqlite", "pg"):
            db, var = _fresh(backend, args.pg, workdir)
            fill = _run(db, var, kind="fill", n=verify_events)
            results["verify"][backend] = _run(db, var, kind="verify", workers=min(4, os.cpu_count() or 1)) | {
                "fill_seconds": fill["seconds"]
            }
            print(backend, "verify", results["verify"][backend], flush=True)
        _pg_recreate(args.pg)
    results["load_end"] = os.getloadavg()[0]
    results["loads"] = LOADS
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench_audit.json").write_text(json.dumps(results, indent=1))
    if not args.no_write:
        write_report(results)


def write_report(r: dict) -> None:
    a, q, t, v = r["appends"], r["requests"], r["throughput"], r["verify"]
    sq, pg = "sqlite", "pg"
    runs = r.get("throughput_runs") or [t]
    per_run = [x["per_second"] for x in runs]
    loads = [x.get("load", float("nan")) for x in runs]
    all_gap_free = all(x["gap_free"] for x in runs)
    all_verified = all(x["verified"] for x in runs)
    loads_all = r.get("loads") or [r.get("load_end", os.getloadavg()[0])]

    def pair(d: dict, k50: str, k95: str) -> str:
        return f"{d[k50]:.2f} / {d[k95]:.2f}"

    def req(kind: str, backend: str) -> str:
        x = q[backend][kind]
        return (
            f"{x['plain_p50']:.2f} → {x['audited_p50']:.2f} ms: **{x['overhead_p50']:+.0%}** "
            f"(mean {x['overhead_mean']:+.0%})"
        )

    lines = [
        START,
        "## Audit trail",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `bench/bench_audit.py` on {platform.machine()} "
        f"({os.cpu_count()} cores shared with other people's builds and test runs — load average "
        f"{min(loads_all):.1f}–{max(loads_all):.1f}, sampled after each measurement — so expect large "
        "differences between runs), Python "
        f"{platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version} (WAL, synchronous=NORMAL) "
        "and the shared PostgreSQL on loopback (synchronous_commit on).",
        "",
        "| Measure | SQLite | PostgreSQL | Goal |",
        "|---|---|---|---|",
        f"| append inside the caller's transaction, p50 / p95 (ms) | {pair(a[sq], 'in_tx_p50', 'in_tx_p95')} "
        f"| {pair(a[pg], 'in_tx_p50', 'in_tx_p95')} | p95 ≤ 2 ms |",
        f"| append in its own transaction (with commit), p50 / p95 (ms) | {pair(a[sq], 'own_p50', 'own_p95')} "
        f"| {pair(a[pg], 'own_p50', 'own_p95')} | p95 ≤ 2 ms |",
        f"| for comparison: bare one-row INSERT + COMMIT, p50 / p95 (ms) | {pair(a[sq]['bare_commit'], 'p50', 'p95')} "
        f"| {pair(a[pg]['bare_commit'], 'p50', 'p95')} | |",
        f"| request that writes (service transaction), p50 without → with audit | {req('write', sq)} "
        f"| {req('write', pg)} | ≤ 10% |",
        f"| read-only request (the audit event is its only write), p50 | {req('read', sq)} | {req('read', pg)} | ≤ 10% |",
        f"| verify {v[sq]['events']:,} events, {v[sq]['workers']} worker processes: events/s | "
        f"{v[sq]['per_second']:,.0f} | {v[pg]['per_second']:,.0f} | ≥ 100,000 |",
        f"| verify: peak RSS of the verifying process / of each worker (MiB) | {v[sq]['rss_peak_mib']:.0f} / "
        f"{v[sq]['child_rss_peak_mib']:.0f} | {v[pg]['rss_peak_mib']:.0f} / {v[pg]['child_rss_peak_mib']:.0f} | flat |",
        "",
        f"Concurrent appends on PostgreSQL, {len(runs)} runs on fresh databases: {t['writers']} writer processes "
        f"wrote {t['events']:,} events each run; median **{t['per_second']:,.0f} events/s** (goal ≥ 1,000), "
        f"all runs: {', '.join(f'{x:,.0f}' for x in per_run)} events/s at load averages "
        f"{', '.join(f'{x:.1f}' for x in loads)}; sequence gap-free: {'yes' if all_gap_free else 'NO'}; "
        f"chain verifies, zero forks: {'yes' if all_verified else 'NO'}.",
        "",
        "How it was measured: appends are timed one by one after a warm-up, inside an open caller "
        "transaction (the usual case: services record inside their own transaction) and outside any "
        "transaction (on PostgreSQL the append is then one statement that is its own transaction; on SQLite "
        "an IMMEDIATE transaction). Requests go through Django's test client and the full middleware stack "
        "(session, MFA, CSP) for a signed-in user; the plain and audited views are interleaved. The writing "
        "pair updates one row in a transaction, the audited one also records an event in it. Each concurrent "
        "writer connects before the clock starts (as a web worker with a persistent connection would; "
        "earlier runs of this script counted eight connection handshakes in the window). Verification "
        "streams keyset chunks of 5,000 rows over a chain written directly under encoding v2 (COPY / "
        "executemany, valid hashes) so a million events take a minute to create; RSS is `ru_maxrss`.",
        "",
        "Reading the figures:",
        "- Appends use encoding v2 (docs/AUDIT.md): the application hashes the event's content before "
        "taking the chain lock, and one statement locks the head, reads the clock, forms the link hash with "
        "PostgreSQL's `sha256()`, inserts the event and moves the head. The lock is held for that statement "
        "and the commit, where it used to be held across three round trips (the locking SELECT, the insert, "
        "the COMMIT) and the hashing in Python between them; outside a transaction the BEGIN round trip is "
        "gone too.",
        "- Before this change (run of 2026-11-28, load 3.4): 205 events/s with 8 writers; own-transaction "
        "append p50 / p95 1.38 / 5.73 ms; read-only request +40%, writing request +30%; verify 83,644 "
        "events/s. The same day, old and new code interleaved in one process at load ~10: 141 / 182 / 184 "
        "against 299 / 338 / 281 events/s.",
        "- Two earlier full runs of this script after the change, the same day: at load ~4, 896 / 1,000 / 740 "
        "events/s with 8 writers, own-transaction append p50 / p95 0.75 / 0.93 ms (bare commit 0.39 / 0.49), "
        "verify 92,986 (PostgreSQL) and 87,611 (SQLite) events/s; at load ~9, 406 / 542 / 339 events/s, "
        "append 0.70 / 0.87 ms (bare commit 0.31 / 0.39), verify 89,399 and 42,160 events/s. Request "
        "overheads swung between runs (read-only on PostgreSQL from +36% to +149%) for the reason given "
        "below. So, against the goals: the append p95 ≤ 2 ms holds whenever the server's own commit does "
        "(it tracks the bare commit to within ~0.5 ms); 1,000 events/s was reached once, at load ~4; "
        "verify passed 100,000 events/s once (SQLite, 120,752) and otherwise ran at 42,000–93,000.",
        f"- What is left is the database: throughput is 1 / (time the lock is held) = the statement "
        f"(insert into a table with eight indexes) + the commit's WAL flush (p50 "
        f"{a[pg]['bare_commit']['p50']:.2f} ms for a bare one-row commit during this run) + the hand-over to "
        "the next waiting backend. Measured with `pgbench` (C clients, no Python) against the same server "
        "at load ~10: a bare single-row `UPDATE` with 8 clients reached ~890 transactions/s and the append "
        "statement itself ~350–380/s, the same as the Python writers (~300/s) at that load, so the "
        "clients are not the limit; a PL/pgSQL function or a prepared statement instead of the one statement "
        "made no measurable difference (in a transaction the statement takes 0.22 ms p50, planning "
        "included). On two cores shared with other work every hand-over waits for a CPU, which is why "
        "the figure moves with the load average.",
        "- Verification is CPU-bound in Python: fetching (~150,000–290,000 rows/s per process) and "
        "rebuilding and hashing (~4 µs per event, 240,000 events/s, after building the JSON decoder once "
        "instead of per row — `json.loads` with a keyword argument built a new decoder every call, which "
        "cost more than the hashing); chunks where every row hashes, seq runs on and every row links are "
        "checked with two list comparisons instead of a Python loop. It splits the seq range across one "
        "process per core; memory stays flat whatever the chain length.",
        "- A read-only request pays for a durable commit it would not otherwise have, and that commit is "
        "what its overhead is made of: timed inside the request at a moment of load 12.6, `record()` took "
        "11.2 ms p50 and a bare one-row autocommit INSERT on the same connection 11.0 ms, so the audit code "
        "adds next to nothing over the WAL flush, whose latency on this shared disk swings from 0.3 ms to "
        "over 10 ms with other people's work. The ≤ 10% goal for a read-only request therefore cannot be "
        "met on this machine while every read is recorded durably (a bare commit alone is ~15% of a "
        "2.5 ms request even when quiet); a request that already writes pays only for the statement.",
        "- The next step past the lock's ceiling is batching: record into an unsealed staging table in the "
        "caller's transaction (no shared lock) and let one sealer link batches into the chain, one commit "
        "per batch. Not built: it changes when `seq` and `hash` exist (after the caller's commit).",
        END,
    ]
    section = "\n".join(lines) + "\n"
    DOC.parent.mkdir(exist_ok=True)
    if DOC.exists():
        text = DOC.read_text()
        if START in text and END in text:
            text = text[: text.index(START)] + section.rstrip("\n") + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = (
            "# Benchmarks\n\nFigures measured on the development machine by the scripts in `bench/` "
            "(`make bench` runs them all). Each section is rewritten by its own script.\n\n" + section
        )
    DOC.write_text(text)


LOG_START, LOG_END = "<!-- audit-log:start -->", "<!-- audit-log:end -->"


def main_log(args) -> None:
    """Writers with audit appends against the same writers inserting a bare row of the same
    shape, interleaved over rounds on one PostgreSQL database; seal lag; verify speed."""
    per_writer = 200 if args.quick else args.per_writer
    verify_events = 20_000 if args.quick else min(args.verify_events, 300_000)
    results: dict = {"rounds": [], "load_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as workdir:
        db, var = _fresh("pg", args.pg, workdir)
        for r in range(args.rounds):
            order = ("audit", "bare") if r % 2 == 0 else ("bare", "audit")
            for kind in order:
                run = _run(
                    db, var, kind="log_round", mode=kind, writers=8, per_writer=per_writer, tag=f"bench-{r}-{kind}"
                )
                results["rounds"].append(run)
                print("round", r, run, flush=True)
        results["verify"] = _run(db, var, kind="log_verify", n=verify_events)
        print("verify", results["verify"], flush=True)
        _pg_recreate(args.pg)
    results["load_end"] = os.getloadavg()[0]
    results["loads"] = LOADS
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench_audit_log.json").write_text(json.dumps(results, indent=1))
    if not args.no_write:
        write_log_report(results)


def write_log_report(r: dict) -> None:
    audit = [x for x in r["rounds"] if x["kind"] == "audit"]
    bare = [x for x in r["rounds"] if x["kind"] == "bare"]
    ratios = [a["per_second"] / b["per_second"] for a, b in zip(audit, bare, strict=True)]
    v = r["verify"]
    loads = r.get("loads") or [r["load_end"]]

    def mmm(values: list[float], fmt: str = ",.0f") -> str:
        return f"{min(values):{fmt}} / {statistics.median(values):{fmt}} / {max(values):{fmt}}"

    lag99 = [x["lag_p99"] for x in audit]
    audit_loads = ", ".join(f"{x['load']:.1f}" for x in audit)
    bare_loads = ", ".join(f"{x['load']:.1f}" for x in bare)
    lines = [
        LOG_START,
        "## Audit trail as a log with a sequencer",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `bench/bench_audit.py --log` on {platform.machine()} "
        f"({os.cpu_count()} cores **shared with two other people's work while it ran** — load average "
        f"{min(loads):.1f}–{max(loads):.1f}, sampled after each measurement — so the figures move between "
        f"runs), Python {platform.python_version()}, the shared PostgreSQL on loopback (synchronous_commit on). "
        f"{len(audit)} rounds, audit and bare interleaved (the order alternating), on one database.",
        "",
        "| Measure | min / median / max | Goal |",
        "|---|---|---|",
        f"| 8 writer processes, audit appends (insert only; a sequencer process seals meanwhile), events/s "
        f"| {mmm([x['per_second'] for x in audit])} | |",
        f"| the same harness inserting a bare row of the same shape, same commits, rows/s "
        f"| {mmm([x['per_second'] for x in bare])} | |",
        f"| ratio audit ÷ bare, per round | **{mmm(ratios, '.2f')}** | ≥ 0.9 (floor 0.7) |",
        f"| seal lag p99 under that load (sealed_at − at), seconds | {mmm(lag99, '.3f')} | ≤ 1 s |",
        f"| seal lag p50 / max, seconds (median round) | {statistics.median(x['lag_p50'] for x in audit):.3f} / "
        f"{statistics.median(x['lag_max'] for x in audit):.3f} | |",
        f"| load average after each round (audit; bare) | {audit_loads}; {bare_loads} | |",
        f"| sequencer alone: sealing {v['sealed']:,} waiting events, events/s | {v['seal_per_second']:,.0f} | |",
        f"| `audit verify`, full, set-wise on PostgreSQL, {v['verify_1']['events']:,} events: 1 / 2 workers, "
        f"events/s | {v['verify_1']['per_second']:,.0f} / {v['verify_2']['per_second']:,.0f} | ≥ 1M (floor 500k) |",
        f"| `audit verify --incremental` after 2,000 more events (from seq {v['incremental']['from_seq']:,}), "
        f"seconds | {v['incremental']['seconds']:.3f} ({v['incremental']['events']:,} events) | |",
        "",
        "Every round's events were all sealed "
        f"({'yes' if all(x['unsealed'] == 0 for x in audit) else 'NO'}); every verification passed "
        f"({'yes' if v['verify_1']['ok'] and v['verify_2']['ok'] and v['incremental']['ok'] else 'NO'}).",
        "",
        "How it was measured: each writer connects before the clock starts, then appends with `record()` "
        "outside any transaction (one INSERT that is its own transaction, as a read is) or, for the bare "
        "harness, executes a plain INSERT of the same columns and values into a table of the same shape "
        "(no digest, no trigger, no partial index) through the same driver. A sequencer process "
        "(`audit.sequencer.run`, batches of up to 2,000, a checkpoint at most once a second) runs during the "
        "audit rounds and competes for the same two cores. Verification runs over a chain of events inserted "
        "set-wise and sealed by the sequencer, plus the rounds' events.",
        LOG_END,
    ]
    text = DOC.read_text()
    block = "\n".join(lines)
    if LOG_START in text:
        head, rest = text.split(LOG_START, 1)
        text = head + block + rest.split(LOG_END, 1)[1]
    else:
        text = text.replace(START, block + "\n\n" + START, 1)
    DOC.write_text(text)


if __name__ == "__main__":
    main()
