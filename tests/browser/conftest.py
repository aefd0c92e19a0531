"""A real Accord server and a real Chromium for the journeys.

The server is gunicorn on a free loopback port, in production's shape (DEBUG off, static files by
whitenoise, argon2) but on a fresh SQLite database in a temporary directory, migrated and seeded
by `seed_demo`. Chromium is Debian's (/usr/bin/chromium) driven by Playwright's own driver.
Every page a test opens is watched: console errors, uncaught exceptions and CSP violations fail
the test that caused them.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ACCORD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WATCH_SCRIPT = Path(__file__).with_name("watch.js")
DEMO_PASSWORD = "accord-demo-password"
STEP_UP_SECONDS = 4

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    db_path: Path
    log_path: Path
    used_steps: dict[str, int] = field(default_factory=dict)

    def query(self, sql: str, *params) -> list[tuple]:
        # Read-only peeks at the server's database (TOTP keys, audit rows); writes go through the UI.
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=20) as conn:
            return conn.execute(sql, params).fetchall()

    def totp(self, email: str) -> str:
        """The next unused TOTP code of `email`: codes cannot be replayed, so a second sign-in
        inside the same 30 seconds uses the next step, which the server's drift tolerance accepts."""
        from django_otp.oath import TOTP

        rows = self.query(
            "SELECT d.key FROM otp_totp_totpdevice d JOIN accounts_user u ON u.id = d.user_id "
            "WHERE u.email = ? AND d.confirmed",
            email,
        )
        assert rows, f"{email} has no confirmed TOTP device in the seeded database"
        totp = TOTP(bytes.fromhex(rows[0][0]), step=30, t0=0, digits=6)
        step = self.used_steps.get(email, -1) + 1
        # The server accepts one step of drift: past that, wait for the clock to catch up.
        while step > totp.t() + 1:
            time.sleep(1)
            totp.time = time.time()
        step = max(step, totp.t())
        self.used_steps[email] = step
        totp.time = step * 30
        return f"{totp.token():06d}"


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")


@contextmanager
def _serve(var: Path, *, host: str = "127.0.0.1", extra_env: dict[str, str] | None = None):
    """A seeded gunicorn on a free loopback port, reached at http://<host>:<port>."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL", "CELERY_", "DJANGO_"))}
    env.update(
        {
            "ACCORD_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "ACCORD_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    port = _free_port()
    url = f"http://{host}:{port}"
    if host != "127.0.0.1":
        env["ACCORD_SITE_URL"] = url  # the WebAuthn relying party and origin
    env.update(extra_env or {})
    _run(["migrate", "--noinput"], env)
    _run(["seed_demo", "--quiet"], env)
    _run(["shell"], env, stdin=Path(__file__).with_name("draft_agreement.py").read_text())
    log_path = var / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the server did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    try:
        yield Server(url=url, db_path=var / "accord.sqlite3", log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The embedded demo as `make run` serves it (its personas act with TOTP)."""
    with _serve(tmp_path_factory.mktemp("accord-var")) as running:
        yield running


@pytest.fixture(scope="session")
def key_server(tmp_path_factory):
    """The demo with production's rule: privileged roles act only after a security key, and the
    step-up window (and the wait for a key) shortened to a few seconds so a journey can outlive
    it. On `localhost`, the one insecure origin a browser runs WebAuthn on."""
    extra = {
        "ACCORD_PRIVILEGED_TOTP": "false",
        "ACCORD_STEP_UP_SECONDS": str(STEP_UP_SECONDS),
        # A key that is not there fails the ceremony in seconds rather than minutes.
        "ACCORD_WEBAUTHN_TIMEOUT_SECONDS": "5",
    }
    with _serve(tmp_path_factory.mktemp("accord-key-var"), host="localhost", extra_env=extra) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Watcher:
    """Collects what must never happen on a page: console errors, uncaught errors, CSP violations."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.expected_status_urls: set[str] = set()

    def console(self, message) -> None:
        if message.type != "error":
            return
        location = (message.location or {}).get("url", "")
        # A page we navigated to on purpose to see a 404/403 logs its status as a console error.
        if "Failed to load resource" in message.text and location in self.expected_status_urls:
            return
        self.problems.append(f"console error: {message.text} ({location})")

    def page_error(self, error) -> None:
        self.problems.append(f"uncaught error: {error}")

    def violation(self, source, report) -> None:
        self.problems.append(f"CSP violation: {report}")


@dataclass
class Session:
    """One person's browser context, watched."""

    page: object
    context: object
    watcher: Watcher
    server: Server
    visited: list[str] = field(default_factory=list)

    def go(self, path: str, *, expect_status: int = 200):
        url = self.server.url + path
        if expect_status != 200:
            self.watcher.expected_status_urls.add(url)
        response = self.page.goto(url)
        assert response is not None and response.status == expect_status, (
            f"{path}: {response.status if response else None}"
        )
        return response

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> None:
        page = self.page
        self.go("/accounts/login/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/accounts/mfa/**")
        page.get_by_label("Six-digit code from your authenticator app").fill(self.server.totp(email))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(self.server.url + "/")

    def assert_clean(self) -> None:
        assert not self.watcher.problems, "\n".join(self.watcher.problems)


def _sessions(browser, server):
    """`open()` gives a fresh, watched browser context on `server` (a different person each time)."""
    sessions: list[Session] = []

    def _open() -> Session:
        watcher = Watcher()
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.expose_binding("__accordReport", watcher.violation)
        context.add_init_script(path=str(WATCH_SCRIPT))
        page = context.new_page()
        page.on("console", watcher.console)
        page.on("pageerror", watcher.page_error)
        page.set_default_timeout(15_000)
        session = Session(page=page, context=context, watcher=watcher, server=server)
        sessions.append(session)
        return session

    yield _open
    problems = []
    for session in sessions:
        problems.extend(session.watcher.problems)
        session.context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def open_session(browser, server):
    """`open_session()` gives a fresh, watched browser context (a different person each time)."""
    yield from _sessions(browser, server)


@pytest.fixture
def open_key_session(browser, key_server):
    """`open_key_session()`: the same, on the server that asks privileged roles for a security key."""
    yield from _sessions(browser, key_server)
