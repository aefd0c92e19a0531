"""Tools for the fault tests: a TCP proxy to cut a service off, and a live Accord to cut off from it."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from tests.portal.conftest import free_port, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream address; `cut()` drops every connection and
    refuses new ones (as a dead server would), `restore()` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for sock in doomed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        pair = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in (a, b):
                with self._lock:
                    self._sockets.discard(sock)
                try:
                    sock.close()
                except OSError:
                    pass


def pg_base_url() -> str:
    """The PostgreSQL server the services suite runs on, without a database name."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        parts = urlsplit("postgres://postgres@127.0.0.1:5432/postgres")
    return f"{parts.scheme}://{parts.netloc}"


def database_proxy(name: str) -> tuple[TcpProxy, str]:
    """A listening proxy to the PostgreSQL server, and the URL of database `name` through it."""
    upstream = urlsplit(pg_base_url())
    proxy = TcpProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432))
    proxy.restore()
    return proxy, f"{upstream.scheme}://{upstream.username or 'postgres'}@127.0.0.1:{proxy.port}/{name}"


def psql(sql: str) -> None:
    subprocess.run(  # noqa: S603
        ["psql", f"{pg_base_url()}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],  # noqa: S607
        check=True,
        timeout=60,
        capture_output=True,
    )


def accord_env(database_url: str, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "CELERY_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=database_url,
        ACCORD_VAR_DIR=str(home / "var"),
        ACCORD_KEY_DIR=str(home / "keys"),
        ACCORD_MEDIA_ROOT=str(home / "media"),
        ACCORD_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise AssertionError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def shell_json(env: dict, code: str) -> dict:
    out = manage(env, "shell", "-c", code)
    line = next(line for line in out.splitlines() if line.startswith("JSON "))
    return json.loads(line[5:])


# Run inside `manage.py shell`: the chain recomputed row by row, and row counts.
CHAIN_AND_COUNTS = r"""
import json
from django.apps import apps
from audit.models import AuditEvent
from audit.chain import GENESIS_HASH, row_hash
from audit.verify import stream_rows
# In chain order (position), each row rehashed from the text forms the database gives back.
prev, expected, ok = GENESIS_HASH, 1, True
for row in stream_rows():
    ok &= row[0] == expected and row[15] == prev and row_hash(row) == row[16]
    prev, expected = row[16], row[0] + 1
counts = {m._meta.label: m.objects.count() for m in apps.get_models(include_auto_created=True) if not m._meta.proxy}
actions = {}
for a in AuditEvent.objects.values_list("action", flat=True):
    actions[a] = actions.get(a, 0) + 1
print("JSON " + json.dumps({"chain_ok": ok, "events": expected - 1, "counts": counts, "actions": actions}))
"""


class LiveAccord:
    """gunicorn serving Accord from the repository, with the given environment."""

    def __init__(self, env: dict, log: Path, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": str(workers)}
        self._log = log.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "portal.wsgi:application"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=self._log,
        )
        wait_for_port(self.port, proc=self.proc, timeout=30)

    def close(self) -> None:
        stop(self.proc)
        self._log.close()
