"""Private Redis, Celery worker and beat processes for the fault tests (never the shared ones)."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.portal.conftest import free_port, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class RedisServer:
    """A redis-server of our own on a free loopback port, which a test may stop and start again."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


def worker_env(broker_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker that shares this test's database and master key."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "CELERY_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=url,
        CELERY_BROKER_URL=broker_url,
        ACCORD_MASTER_KEY=base64.b64encode(settings.MASTER_KEY).decode(),
        ACCORD_VAR_DIR=str(home / "var"),
        ACCORD_KEY_DIR=str(settings.KEY_DIR),
        ACCORD_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        ACCORD_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_worker(env: dict, log: Path, *, concurrency: int = 1) -> subprocess.Popen:
    """A prefork worker in a process group of its own, so a test can kill it whole (os.killpg)."""
    return subprocess.Popen(  # noqa: S603
        [
            str(BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "-P",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--include",
            "tests.outbox.tasks_for_tests",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        env=env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_beat(env: dict, log: Path, schedule: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [str(BIN / "celery"), "-A", "portal", "beat", "--schedule", str(schedule), "--loglevel", "INFO"],
        env=env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def children(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (a prefork worker's pool), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class FakeClamd:
    """A clamd stand-in speaking INSTREAM on a free loopback port. It reads each stream to its
    zero-length end chunk, then calls `answer(conn, number)` (1 for the first scan); the default
    says `stream: OK`."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._scan, args=(conn, number), daemon=True).start()

    def _scan(self, conn: socket.socket, number: int) -> None:
        with conn:
            try:
                tail = b""
                while not tail.endswith(b"\0\0\0\0"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    tail = tail[-8:] + chunk
                self.answer(conn, number)
            except OSError:
                return

    def answer(self, conn: socket.socket, number: int) -> None:
        conn.sendall(b"stream: OK\0")

    def close(self) -> None:
        self.listener.close()
