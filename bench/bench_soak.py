"""Soak drill: 100 uploads while workers are killed at random; every scan (and every eval-log
parse) must end, once in effect, within two reaper intervals.

Real processes on this machine only: three Celery workers (prefork, two processes each, each
worker in a process group of its own) and beat, on a scratch PostgreSQL database `accord_soak`
and one Redis database (emptied with FLUSHDB at start and end — never the whole server). A
stand-in clamd answers every scan after 0.5–2 s, so kills land in the middle of scans. The
uploads go through the real service (encrypt, store, row, outbox) from this process, a fifth of
them Inspect logs, which a clean scan sends on to be parsed.

The killer: a bounded loop that every 1–4 s picks one worker at random and SIGKILLs either its
whole process group (main process and pool: nothing acknowledges or rejects its messages) or one
pool process (the main process rejects the message back to the queue); a whole worker killed is
started again after a moment. It stops by itself once the work is done or the time is up.

    .venv/bin/python bench/bench_soak.py [--redis redis://127.0.0.1:6379/3] [--uploads 100]

Reports how many uploads ended clean, the slowest and median time from upload to done, the
scans started against verdicts recorded (more starts than verdicts: redeliveries that changed
nothing), and the load average.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.portal.services_fixtures import FakeClamd, children  # noqa: E402

PG = os.environ.get("SOAK_PG", "postgres://postgres@127.0.0.1:5432/")
DB = "accord_soak"
VAR = ROOT / "var" / "soak"
BIN = Path(sys.executable).parent
REAPER_SECONDS = 10
DEADLINE_SECONDS = 5  # half a reaper interval: lost work is queued again well within two
WORKERS = 3
EVAL_LOG = ROOT / "tests" / "evals" / "fixtures" / "success.json"


class SlowClamd(FakeClamd):
    """Answers `stream: OK` after 0.5–2 s; `connections` counts the scans begun."""

    def answer(self, conn: socket.socket, number: int) -> None:
        time.sleep(random.uniform(0.5, 2.0))  # noqa: S311 - timing jitter, not security
        super().answer(conn, number)


def psql(sql: str) -> None:
    subprocess.run(  # noqa: S603
        ["psql", PG + "postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=120,
    )


def environment(redis_url: str, clamd_port: int, master_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "CELERY_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=PG + DB,
        CELERY_BROKER_URL=redis_url,
        ACCORD_MASTER_KEY=master_key,
        ACCORD_VAR_DIR=str(VAR / "var"),
        ACCORD_KEY_DIR=str(VAR / "keys"),
        ACCORD_MEDIA_ROOT=str(VAR / "media"),
        ACCORD_CLAMD_HOST="127.0.0.1",
        ACCORD_CLAMD_PORT=str(clamd_port),
        ACCORD_REAPER_SECONDS=str(REAPER_SECONDS),
        ACCORD_OUTBOX_RELAY_SECONDS="2",
        ACCORD_DEADLINE_SCAN_SECONDS=str(DEADLINE_SECONDS),
        ACCORD_DEADLINE_PARSE_SECONDS=str(DEADLINE_SECONDS),
        ACCORD_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    return env


class Worker:
    def __init__(self, number: int, env: dict[str, str]) -> None:
        self.number, self.env, self.proc = number, env, None
        self.log = (VAR / f"worker{number}.log").open("ab")

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our venv's celery, fixed arguments
            [str(BIN / "celery"), "-A", "portal", "worker", "-P", "prefork", "--concurrency", "2"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"soak{self.number}@%h"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pool(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def kill_whole(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_whole()


def killer(workers: list[Worker], stop: threading.Event, kills: dict[str, int], max_kills: int) -> None:
    rng = random.Random()  # noqa: S311 - chaos, not security
    for _ in range(max_kills):
        if stop.wait(rng.uniform(1.0, 4.0)):
            return
        worker = rng.choice(workers)
        if rng.random() < 0.5:
            worker.kill_whole()
            kills["whole"] += 1
            if stop.wait(rng.uniform(0.5, 2.0)):
                return
            worker.start()
        else:
            pool = worker.pool()
            if pool:
                os.kill(rng.choice(pool), signal.SIGKILL)
                kills["pool"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--redis",
        default=os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="a Redis database of the drill's own: it is emptied (FLUSHDB) at start and end",
    )
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    args = parser.parse_args()

    import redis

    broker = redis.Redis.from_url(args.redis)
    broker.flushdb()
    VAR.mkdir(parents=True, exist_ok=True)
    for old in VAR.glob("*.log"):
        old.unlink()
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB}")
    clamd = SlowClamd()
    env = environment(args.redis, clamd.port, base64.b64encode(secrets.token_bytes(32)).decode())
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=600
    )
    os.environ.update(env)
    import django

    django.setup()
    from accounts.models import Country, Tier
    from audit.models import Action, AuditEvent
    from evals.models import EvalRun
    from sharing.attachments import attachment_create_from_stream
    from sharing.models import Attachment, Document
    from tests.factories import OrganisationFactory, PersonFactory

    org = OrganisationFactory(short_name="ukasi", country=Country.objects.get(code="GBR"))
    author = PersonFactory(email="alice@ukasi.example", organisation=org, roles=["author"])
    document = Document.objects.create(
        title="Soak", originator=org, author=author, tier=Tier.objects.get(code="official")
    )

    workers = [Worker(n, env) for n in range(WORKERS)]
    for worker in workers:
        worker.start()
    beat_log = (VAR / "beat.log").open("ab")
    beat = subprocess.Popen(  # noqa: S603
        [str(BIN / "celery"), "-A", "portal", "beat", "--schedule", str(VAR / "beat-schedule")],
        env=env,
        cwd=ROOT,
        stdout=beat_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(5)  # workers up
    load_start = os.getloadavg()[0]
    stop = threading.Event()
    kills = {"whole": 0, "pool": 0}
    chaos = threading.Thread(target=killer, args=(workers, stop, kills, 1000), daemon=True)
    codes, evals = [], set()

    def done() -> set:
        clean = set(
            Attachment.objects.filter(code__in=codes, scan_status=Attachment.ScanStatus.CLEAN).values_list(
                "code", flat=True
            )
        )
        parsed = set(
            EvalRun.objects.filter(attachment_code__in=evals, parse_status=EvalRun.ParseStatus.PARSED).values_list(
                "attachment_code", flat=True
            )
        )
        return {c for c in clean if c not in evals or c in parsed}

    started = time.monotonic()
    try:
        chaos.start()
        rng = random.Random(1)  # noqa: S311
        log = EVAL_LOG.read_bytes()
        for n in range(args.uploads):
            is_log = n % 5 == 4
            data = log if is_log else f"model,score\nm{n},{rng.random():.3f}\n".encode() * 200
            name = f"run{n}.json" if is_log else f"results{n}.csv"
            kind = "application/json" if is_log else "text/csv"
            attachment = attachment_create_from_stream(
                actor=author, document=document, stream=io.BytesIO(data), filename=name, content_type=kind
            )
            codes.append(attachment.code)
            if is_log:
                evals.add(attachment.code)
            time.sleep(rng.uniform(0.05, 0.5))

        while len(done()) < len(codes) and time.monotonic() - started < args.timeout:
            time.sleep(1)
    finally:
        stop.set()
        chaos.join(timeout=30)
        beat.terminate()
        beat.wait(timeout=15)
        for worker in workers:
            worker.stop()
        clamd.close()
    load_end = os.getloadavg()[0]

    finished = done()
    requeued_codes = {
        item["args"][0]
        for e in AuditEvent.objects.filter(action=Action.WORK_REQUEUED).only("details")
        for item in e.details["items"]
    }
    took, over = [], []
    goal = 2 * REAPER_SECONDS
    for a in Attachment.objects.filter(code__in=codes):
        end = a.scanned_at
        if a.code in evals:
            run = EvalRun.objects.filter(attachment_code=a.code).first()
            end = run.parsed_at if run else None
        if end:
            took.append((end - a.uploaded_at).total_seconds())
            if took[-1] > goal:
                over.append({"s": round(took[-1], 1), "requeued": str(a.code) in requeued_codes})
    verdicts = {}
    for target in AuditEvent.objects.filter(
        action__in=[Action.ATTACHMENT_SCANNED, Action.ATTACHMENT_REJECTED]
    ).values_list("target_id", flat=True):
        verdicts[target] = verdicts.get(target, 0) + 1
    parses = {}
    for target in AuditEvent.objects.filter(action=Action.EVAL_LOG_PARSED).values_list("target_id", flat=True):
        parses[target] = parses.get(target, 0) + 1
    requeued = sum(
        len(e.details["items"]) for e in AuditEvent.objects.filter(action=Action.WORK_REQUEUED).only("details")
    )
    result = {
        "uploads": len(codes),
        "eval_logs": len(evals),
        "ended_clean": len(finished),
        "within_two_reaper_intervals": sum(1 for t in took if t <= goal),
        "two_reaper_intervals_s": goal,
        "slowest_s": round(max(took), 1) if took else None,
        "median_s": round(statistics.median(took), 1) if took else None,
        "kills_whole_worker": kills["whole"],
        "kills_pool_process": kills["pool"],
        "scans_started": clamd.connections,
        "verdicts_max_per_attachment": max(verdicts.values()) if verdicts else 0,
        "parses_max_per_log": max(parses.values()) if parses else 0,
        "requeued_by_reaper": requeued,
        "over_two_intervals": sorted(over, key=lambda o: -o["s"]),
        "load_start": round(load_start, 1),
        "load_end": round(load_end, 1),
    }
    (VAR / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    broker.flushdb()
    ok = result["ended_clean"] == len(codes) and result["verdicts_max_per_attachment"] == 1
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
