"""Load: gunicorn (deploy/gunicorn.conf.py, 2 workers) on PostgreSQL with 100,000 documents,
driven on loopback by a second process with a realistic mix for a bounded time.

The world is bench_list's (20 organisations, 1,000 users, 100,000 documents with their marking,
releases and guardian grants), in its own database `accord_load`, plus searchable summaries and
bodies, signed-in sessions past MFA for 8 partner reviewers and one author, and a few small
attachments uploaded through the real (encrypting) view before the clock starts.

Mix per client thread (closed loop, no think time), through the portal's own pages: list 30%,
search 20%, detail 30%, download 15% (reviewers), upload 5% (the author). Then the same mix
against bare views (bench/load_urls.py: the same pages built without policy or audit, the same
templates and middleware, plaintext files), so the cost of Accord's guarantees is a ratio. After the run, `manage.py audit verify` must pass
and the audit sequence must be gap-free.

    .venv/bin/python bench/bench_load.py [--duration 60] [--rounds 3] [--threads 8] [--warmup 5]

Each round runs both modes, the one going first alternating between rounds; the figure is the
overall req/s ratio Accord ÷ bare, min / median / max over the rounds, with the load average.

Run by hand; not part of the test suite. Building the 100,000 documents takes about two minutes
the first time; the database is reused while it holds them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_list import PG, populate, prepare_database  # noqa: E402

DB = "accord_load"
SIZE = 100_000
VAR = ROOT / "var" / "load"
REVIEWERS = 8
UPLOAD_TARGETS = 20
FILE_BYTES = 100 * 1024
MIX = {"list": 30, "search": 20, "detail": 30, "download": 15, "upload": 5}
WORDS = ["jailbreak", "uplift", "replication", "deception", "exfiltration", "sandbagging", "persuasion", "biosecurity"]
EXPECTED = {"list": 200, "search": 200, "detail": 200, "download": 200, "upload": 201}


def bench_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "CELERY_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=PG + DB,
        ACCORD_VAR_DIR=str(VAR),
        DJANGO_SETTINGS_MODULE="bench.load_settings",
        ACCORD_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
        # As in production on PostgreSQL: requests only insert their audit events, and one
        # `manage.py audit sequencer` process (started beside gunicorn) links them into the chain.
        ACCORD_AUDIT_SEALING="sequencer",
    )
    return env


# --- setup: runs in a child process bound to the bench database -------------------------------


def add_text() -> None:
    """Summaries and bodies with a vocabulary to search, in one statement per column."""
    from django.db import connection

    words = "ARRAY[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE sharing_document SET "  # noqa: S608 - constants only
            f"summary = 'Evaluation of ' || ({words})[1 + id % 8] || ' in model m' || (id % 40), "
            f"body = '## Method\n\nWe measured ' || ({words})[1 + (id / 8) % 8] || ' and ' || "
            f"({words})[1 + id % 8] || ' over ' || (id % 97) || ' tasks.\n\n## Findings\n\n' || "
            f"repeat('The model completed the staged task under elicitation. ', 12)"
        )
        cursor.execute("VACUUM ANALYZE sharing_document")


def setup() -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from sharing.models import Document
    from sharing.policy import can_edit, can_read, readable_documents
    from tests.factories import give_role, login_verified

    started = time.perf_counter()
    fresh = prepare_database(DB, SIZE)
    call_command("migrate", verbosity=0)  # also brings a reused database up to the code's schema
    if fresh:
        populate(SIZE)
    if Document.objects.filter(summary="").exists():
        add_text()
    built = time.perf_counter() - started

    def secret_cleared(short_name: str):
        return (
            User.objects.filter(organisation__short_name=short_name, clearance_grants__tier__code="secret")
            .distinct()
            .order_by("pk")
        )

    reviewers = list(secret_cleared("bench-usa")[:REVIEWERS])
    author = secret_cleared("bench-gbr").first()
    give_role(author, "author")
    sessions = {}
    for user in [*reviewers, author]:
        client = Client()
        login_verified(client, user)
        sessions[user.email] = client.cookies[settings.SESSION_COOKIE_NAME].value
    details = {
        r.email: [str(c) for c in readable_documents(r).order_by("?").values_list("code", flat=True)[:300]]
        for r in reviewers
    }
    targets = []
    candidates = Document.objects.filter(
        originator=author.organisation, status="published", compartments=None, caveats=None
    ).order_by("-pk")
    for document in candidates[:400]:
        if can_edit(author, document) and all(can_read(r, document) for r in reviewers):
            targets.append(str(document.code))
            if len(targets) == UPLOAD_TARGETS:
                break
    zero = uuid.UUID(int=0)

    def template(name: str, *args) -> str:
        return reverse(name, args=args).replace(str(zero), "{code}")

    return {
        "build_seconds": round(built, 1),
        "documents": Document.objects.count(),
        "readable": readable_documents(reviewers[0]).count(),
        "reviewers": [r.email for r in reviewers],
        "author": author.email,
        "sessions": sessions,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "details": details,
        "targets": targets,
        "urls": {
            "accord": {
                "list": template("sharing:document_list"),
                "detail": template("sharing:document_detail", zero),
                "upload": template("sharing:attachment_upload", zero),
                "download": template("sharing:attachment_download", zero),
            },
            "bare": {
                "list": "/bench/bare/documents/",
                "detail": "/bench/bare/documents/{code}/",
                "upload": "/bench/bare/documents/{code}/attachments/",
                "download": "/bench/bare/files/{code}/download/",
            },
        },
    }


def pass_on() -> dict:
    """The upload targets' releases move to their latest revision, as an approved update leaves
    them: the files primed before the clock belong to a revision of their own (a release pins
    its revision's files), and the reviewers download them."""
    import django

    django.setup()
    from sharing.models import Document, DocumentRevision, Release
    from sharing.services.releases import sync_grants

    with open(VAR / "targets.json") as handle:
        codes = json.load(handle)
    documents = list(Document.objects.filter(code__in=codes).values_list("pk", flat=True))
    for document_id in documents:
        latest = DocumentRevision.objects.filter(document_id=document_id).order_by("-number").first()
        Release.objects.filter(document_id=document_id, status=Release.Status.APPROVED).update(revision=latest)
    sync_grants(document_ids=documents)
    return {"documents": len(documents)}


def after_run() -> dict:
    import django

    django.setup()
    from django.db import connection

    from audit.models import AuditEvent

    with connection.cursor() as cursor:
        # The chain's order is `position` (set by the sequencer, gap-free); `seq` comes from a
        # database sequence at insert, where a rolled-back transaction may leave a hole.
        cursor.execute("SELECT count(*), coalesce(min(position), 0), coalesce(max(position), 0) FROM audit_auditevent")
        count, low, high = cursor.fetchone()
    actions = {}
    for action in AuditEvent.objects.values_list("action", flat=True):
        actions[action] = actions.get(action, 0) + 1
    return {"events": count, "gap_free": count == 0 or (low == 1 and high == count), "actions": actions}


# --- the client: no Django, plain http.client keep-alive connections --------------------------


class Client:
    def __init__(self, port: int, world: dict, mode: str, seed: int):
        self.port = port
        self.world = world
        self.urls = world["urls"][mode]
        self.mode = mode
        self.rng = random.Random(seed)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.csrf = secrets.token_hex(16)  # 32 characters: accepted as a CSRF secret and its token

    def cookie(self, email: str) -> str:
        return (
            f"{self.world['session_cookie']}={self.world['sessions'][email]}; {self.world['csrf_cookie']}={self.csrf}"
        )

    def request(self, method: str, url: str, email: str, body: bytes | None = None, headers=None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie(email), **(headers or {})}
        for attempt in (1, 2):
            try:
                self.conn.request(method, url, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # gunicorn closes idle keep-alive connections; reconnect once, as a browser does.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def upload(self, email: str, code: str) -> tuple[int, bytes]:
        boundary = secrets.token_hex(12)
        line = f"bench file {secrets.token_hex(8)}\n"
        content = (line * (FILE_BYTES // len(line) + 1)).encode()[:FILE_BYTES]
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
                f"Content-Type: text/plain\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRFToken": self.csrf}
        return self.request("POST", self.urls["upload"].format(code=code), email, body, headers)

    def one(self, kind: str, reviewer: str, files: list[str]) -> tuple[int, bytes]:
        rng, urls = self.rng, self.urls
        if kind == "list":
            page = rng.choice([1, 1, 1, 2, 3])
            return self.request("GET", urls["list"] + (f"?page={page}" if page > 1 else ""), reviewer)
        if kind == "search":
            words = rng.choice(WORDS) + (f" m{rng.randrange(40)}" if rng.random() < 0.5 else "")
            return self.request("GET", urls["list"] + "?text=" + words.replace(" ", "+"), reviewer)
        if kind == "detail":
            code = rng.choice(self.world["details"][reviewer])
            return self.request("GET", urls["detail"].format(code=code), reviewer)
        if kind == "download":
            return self.request("GET", urls["download"].format(code=rng.choice(files)), reviewer)
        return self.upload(self.world["author"], rng.choice(self.world["targets"]))


def drive(port: int, world: dict, mode: str, files: list[str], threads: int, seconds: float, mix: dict) -> dict:
    samples: list[tuple[str, float, bool]] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    kinds, weights = list(mix), list(mix.values())

    def loop(index: int) -> None:
        client = Client(port, world, mode, seed=index * 7919 + len(mode))
        reviewer = world["reviewers"][index % len(world["reviewers"])]
        mine = []
        while time.monotonic() < deadline:
            kind = client.rng.choices(kinds, weights)[0]
            start = time.perf_counter()
            try:
                status, body = client.one(kind, reviewer, files)
                ok = status == EXPECTED[kind] and (kind != "download" or len(body) == FILE_BYTES)
                why = f"{kind}: HTTP {status} {body[:120]!r}"
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                ok, why = False, f"{kind}: {type(exc).__name__}: {exc}"
            mine.append((kind, (time.perf_counter() - start) * 1000, ok))
            if not ok:
                with lock:
                    failures.append(why)
        client.conn.close()
        with lock:
            samples.extend(mine)

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return summarise(samples, elapsed, mix) | {"failures": failures[:10]}


def summarise(samples, elapsed: float, mix: dict) -> dict:
    def stats(rows) -> dict:
        ms = sorted(ms for _, ms, _ in rows)
        cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
        return {
            "requests": len(rows),
            "rps": len(rows) / elapsed,
            "p50": cuts[49],
            "p95": cuts[94],
            "p99": cuts[98],
            "errors": sum(1 for *_, ok in rows if not ok),
        }

    per = {kind: stats([s for s in samples if s[0] == kind]) for kind in mix if any(s[0] == kind for s in samples)}
    return {"seconds": elapsed, "endpoints": per, "overall": stats(samples)}


def prime(port: int, world: dict, mode: str) -> list[str]:
    """One small file per upload target, through the mode's own upload view, before the clock."""
    client = Client(port, world, mode, seed=1)
    files = []
    for code in world["targets"]:
        status, body = client.upload(world["author"], code)
        if status != 201:
            raise SystemExit(f"{mode} upload during setup failed: HTTP {status} {body[:300]!r}")
        files.append(json.loads(body)["code"])
    client.conn.close()
    return files


def wait_ready(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}; see {VAR / 'gunicorn.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not become ready")


def table(results: dict) -> str:
    lines = [
        "| endpoint | Accord req/s | p50 / p95 / p99 ms | errors | bare req/s | p50 / p95 / p99 ms | errors "
        "| throughput bare÷Accord | p50 Accord÷bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    accord, bare = results["accord"], results["bare"]
    for name in [*MIX, "overall"]:
        a = accord["overall"] if name == "overall" else accord["endpoints"].get(name)
        b = bare["overall"] if name == "overall" else bare["endpoints"].get(name)
        if not a or not b:
            continue
        label = f"**{name}**" if name == "overall" else name
        lines.append(
            f"| {label} | {a['rps']:.1f} | {a['p50']:.0f} / {a['p95']:.0f} / {a['p99']:.0f} | {a['errors']} "
            f"| {b['rps']:.1f} | {b['p50']:.0f} / {b['p95']:.0f} / {b['p99']:.0f} | {b['errors']} "
            f"| {b['rps'] / a['rps']:.2f}× | {a['p50'] / b['p50']:.2f}× |"
        )
    return "\n".join(lines)


def child(what: str) -> dict:
    out = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [sys.executable, __file__, f"--{what}"], env=bench_env(), cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per mode and round (default 60)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of both modes (default 3)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8, help="client threads (default 8 = 2 workers × 4 threads)")
    parser.add_argument("--port", type=int, default=8741)
    parser.add_argument(
        "--mix", default=",".join(f"{k}={v}" for k, v in MIX.items()), help="weights, e.g. list=30,detail=30"
    )
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--after", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pass-on", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup or args.after or args.pass_on:
        print(json.dumps(setup() if args.setup else pass_on() if args.pass_on else after_run()))
        return

    mix = {k: int(v) for k, v in (part.split("=") for part in args.mix.split(","))}
    if not set(mix) <= set(MIX):
        parser.error(f"--mix kinds are {', '.join(MIX)}")
    VAR.mkdir(parents=True, exist_ok=True)
    print("building or reusing the world ...", flush=True)
    world = child("setup")
    print(
        f"{world['documents']:,} documents ({world['readable']:,} readable by a reviewer), built in "
        f"{world['build_seconds']} s",
        flush=True,
    )
    before = child("after")
    env = bench_env() | {"GUNICORN_BIND": f"127.0.0.1:{args.port}", "GUNICORN_WORKERS": "2"}
    log = (VAR / "gunicorn.log").open("ab")
    sequencer = subprocess.Popen(  # noqa: S603 - this project's manage.py, fixed arguments
        [sys.executable, "manage.py", "audit", "sequencer"], env=bench_env(), cwd=ROOT, stdout=log, stderr=log
    )
    gunicorn = subprocess.Popen(  # noqa: S603 - our venv's gunicorn, fixed arguments
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "portal.wsgi:application"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    rounds: list[dict] = []
    load = {"start": os.getloadavg()[0]}
    try:
        wait_ready(args.port, gunicorn)
        files = {mode: prime(args.port, world, mode) for mode in ("accord", "bare")}
        (VAR / "targets.json").write_text(json.dumps(world["targets"]))
        child("pass-on")
        for number in range(args.rounds):
            # Interleaved: the mode that goes first alternates, so neither always meets a warm cache.
            order = ("accord", "bare") if number % 2 == 0 else ("bare", "accord")
            results = {}
            for mode in order:
                drive(args.port, world, mode, files[mode], args.threads, args.warmup, mix)
                print(f"round {number + 1}, {mode}: {args.duration:.0f} s with {args.threads} threads ...", flush=True)
                results[mode] = drive(args.port, world, mode, files[mode], args.threads, args.duration, mix)
                for failure in results[mode]["failures"]:
                    print("  failure:", failure)
            results["load_average"] = os.getloadavg()[0]
            rounds.append(results)
    finally:
        load["end"] = os.getloadavg()[0]
        gunicorn.terminate()
        gunicorn.wait(timeout=60)
        sequencer.terminate()  # finishes the batch in hand
        sequencer.wait(timeout=60)
        log.close()
    subprocess.run(  # noqa: S603 - seal what the stopped sequencer left, before verifying
        [sys.executable, "manage.py", "audit", "sequencer", "--once"], env=bench_env(), cwd=ROOT, check=True
    )
    after = child("after")
    verify = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "audit", "verify"], env=bench_env(), cwd=ROOT, capture_output=True, text=True
    )
    ratios = sorted(r["accord"]["overall"]["rps"] / r["bare"]["overall"]["rps"] for r in rounds)
    report = {
        "world": {k: world[k] for k in ("documents", "readable", "build_seconds")},
        "threads": args.threads,
        "mix": mix,
        "duration": args.duration,
        "load_average": load,
        "rounds": rounds,
        "accord_over_bare_rps": {"min": ratios[0], "median": statistics.median(ratios), "max": ratios[-1]},
        "audit": {
            "events_written": after["events"] - before["events"],
            "gap_free": after["gap_free"],
            "verify_ok": verify.returncode == 0,
            "verify": (verify.stdout or verify.stderr).strip(),
        },
    }
    (VAR / "result.json").write_text(json.dumps(report, indent=1))
    for number, results in enumerate(rounds, 1):
        print()
        print(f"round {number} (load average {results['load_average']:.1f} after it):")
        print(table(results))
    print()
    spread = report["accord_over_bare_rps"]
    print(
        f"overall req/s, Accord ÷ bare, min / median / max over {len(rounds)} rounds: "
        f"{spread['min']:.2f} / {spread['median']:.2f} / {spread['max']:.2f}×"
    )
    print(f"load average {load['start']:.1f} → {load['end']:.1f}")
    print(f"audit: {report['audit']['events_written']} events written during the run; gap-free: {after['gap_free']}")
    print(f"audit verify: {report['audit']['verify']}")
    errors = any(r[mode]["overall"]["errors"] for r in rounds for mode in ("accord", "bare"))
    if not (verify.returncode == 0 and after["gap_free"]) or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
