"""Attachment throughput and server memory: encrypted vs plain vs whole-file Fernet.

Runs a real gunicorn (one sync worker) on loopback against a throwaway SQLite database, then
uploads a file as multipart/form-data and downloads it again with http.client, streaming both
ways, for each mode; samples the worker's RSS every 10 ms. Run by hand:

    .venv/bin/python bench/bench_attachments.py [--size-mib 1024] [--fernet-size-mib 256]

Bounded: one upload and one download per mode (about a minute for 1 GiB on two cores).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1024 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.stop, self.peak = pid, threading.Event(), 0
        self.base = rss_kib(pid)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.base) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(var_dir: Path) -> dict:
    """Migrate, create an author with a document, and a signed-in, MFA-verified session."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from tests.factories import DocumentFactory, OrganisationFactory, PersonFactory, login_verified

    call_command("migrate", verbosity=0)
    org = OrganisationFactory(short_name="benchorg", country="GBR")
    user = PersonFactory(organisation=org, roles=["author"], clearance="official")
    document = DocumentFactory(author=user, title="bench", tier="official", status="draft")
    client = Client()
    login_verified(client, user)
    csrf = secrets.token_hex(16)  # a 32-character secret is accepted as cookie and header alike
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}; "
    cookie += f"{settings.CSRF_COOKIE_NAME}={csrf}"
    return {"cookie": cookie, "csrf": csrf, "document": str(document.code)}


def upload(port: int, path: str, size: int, block: bytes, auth: dict, *, raw: bool = False) -> tuple[float, dict]:
    """POST `size` bytes of `block` as a multipart form, or (raw) as the body itself, named by
    Content-Disposition, as the attachments page's script sends it."""
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="data.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    if raw:
        head = tail = b""

    def body():
        yield head
        sent = 0
        while sent < size:
            piece = block[: min(len(block), size - sent)]
            sent += len(piece)
            yield piece
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    headers = {
        "Content-Type": "text/plain" if raw else f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
        "Cookie": auth["cookie"],
        "X-CSRFToken": auth["csrf"],
    }
    if raw:
        headers["Content-Disposition"] = "attachment; filename*=UTF-8''data.txt"
    start = time.perf_counter()
    conn.request("POST", path, body=body(), headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    if response.status != 201:
        raise SystemExit(f"upload to {path} failed: {response.status} {payload[:300]!r}")
    return elapsed, json.loads(payload)


def download(port: int, path: str, size: int, auth: dict) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    start = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": auth["cookie"]})
    response = conn.getresponse()
    received = 0
    while chunk := response.read(CHUNK):
        received += len(chunk)
    elapsed = time.perf_counter() - start
    conn.close()
    if response.status != 200 or received != size:
        raise SystemExit(f"download of {path} failed: {response.status}, {received} of {size} bytes")
    return elapsed


def worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("gunicorn worker did not start")


def start(extra_env: dict[str, str] | None = None):
    """A throwaway var/ directory, its database set up, and gunicorn (one sync worker) on it:
    (var_dir, auth, server process, port)."""
    var_dir = Path(tempfile.mkdtemp(prefix="accord-bench-"))
    env = {
        **os.environ,
        "ACCORD_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "ACCORD_ATTACHMENT_MAX_BYTES": str(4 * 1024**3),
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    auth = setup(var_dir)
    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "portal.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}", "--timeout", "3600"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return var_dir, auth, server, port


def ready(server, port: int) -> int:
    """Wait for gunicorn's worker to answer; its pid."""
    pid = worker_pid(server.pid)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--fernet-size-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of plain and encrypted, interleaved; best kept")
    args = parser.parse_args()

    var_dir, auth, server, port = start()
    try:
        pid = ready(server, port)
        block = os.urandom(CHUNK // 2).hex().encode()  # text, so the scan passes it as a .txt
        # Warm the worker (imports, first queries) so RSS baselines are steady.
        upload(port, "/bench/plain/", CHUNK, block, auth)
        results: dict[str, dict] = {}
        encrypted_up = f"/documents/{auth['document']}/attachments/"
        runs = []
        for _ in range(args.repeat):
            runs += [
                ("plain", args.size_mib, "/bench/plain/", lambda r: f"/bench/plain/{r['name']}"),
                ("encrypted", args.size_mib, encrypted_up, lambda r: f"/documents/attachments/{r['code']}/download/"),
            ]
        runs.append(("fernet", args.fernet_size_mib, "/bench/fernet/", lambda r: f"/bench/fernet/{r['name']}"))
        for mode, mib, up_path, down_path in runs:
            size = mib * CHUNK
            with RssSampler(pid) as up_rss:
                up_time, reply = upload(port, up_path, size, block, auth)
            with RssSampler(pid) as down_rss:
                down_time = download(port, down_path(reply), size, auth)
            run = {
                "MiB": mib,
                "upload MiB/s": mib / up_time,
                "download MiB/s": mib / down_time,
                "upload RSS growth MiB": up_rss.growth_mib,
                "download RSS growth MiB": down_rss.growth_mib,
            }
            print(f"{mode:>10}: {json.dumps({k: round(v, 1) for k, v in run.items()})}", flush=True)
            best = results.setdefault(mode, run)
            for key in ("upload MiB/s", "download MiB/s", "upload RSS growth MiB", "download RSS growth MiB"):
                best[key] = max(best[key], run[key])
        plain, enc = results["plain"], results["encrypted"]
        print(
            f"best of {args.repeat}: encrypted/plain: upload {enc['upload MiB/s'] / plain['upload MiB/s']:.2f}x, "
            f"download {enc['download MiB/s'] / plain['download MiB/s']:.2f}x (goal >= 0.8x); "
            f"peak RSS growth {max(enc['upload RSS growth MiB'], enc['download RSS growth MiB']):.1f} MiB (goal <= 64)"
        )
    finally:
        server.terminate()
        server.wait(30)
        subprocess.run(["rm", "-rf", str(var_dir)], check=False)


if __name__ == "__main__":
    main()
