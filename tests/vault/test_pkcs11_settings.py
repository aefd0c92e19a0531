"""ACCORD_KEY_PROVIDER=pkcs11: a missing or wrong setting stops the process at start, naming it.

Checked in fresh interpreters, as production starts: `manage.py check` (Django's checks, which
every management command but `keys` runs), importing the WSGI application (gunicorn), and a
Celery worker (`celery -A portal worker`), which must exit rather than take tasks it cannot run.
"""

from __future__ import annotations

import os
import subprocess  # noqa: S404 - runs this project's own manage.py
import sys
import threading
import uuid
from pathlib import Path

import pytest

from vault.masterkeys import Pkcs11Provider

from .softhsm import make_token

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path, *args, env: dict[str, str], drop=()) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "SOFTHSM2_CONF"))}
    base.update(ACCORD_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="portal.settings", **env)
    for name in drop:
        base.pop(name, None)
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=180, check=False
    )


def _worker(tmp_path, env: dict[str, str], drop=()) -> tuple[int | None, str]:
    """Start a Celery worker as production does; (exit code, output) once it exits, or (None,
    output) once it says it is ready to take tasks (then it is stopped)."""
    broker = os.environ.get("ACCORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "SOFTHSM2_CONF", "CELERY_"))}
    base.update(
        ACCORD_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="portal.settings",
        CELERY_BROKER_URL=broker,
        PYTHONUNBUFFERED="1",
        **env,
    )
    for name in drop:
        base.pop(name, None)
    # A queue of its own, so a worker that does start takes nobody else's tasks.
    queue = f"accord-startup-check-{uuid.uuid4().hex}"
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-P", "solo", "-Q", queue, "-n", f"{queue}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        cwd=ROOT, env=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if line.rstrip().endswith(" ready."):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = 120.0
        while deadline > 0 and proc.poll() is None and not ready.is_set():
            ready.wait(0.5)
            deadline -= 0.5
        started = ready.is_set() or proc.poll() is None
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)
        reader.join(timeout=10)
    return (None if started else proc.returncode), "".join(lines)


PRESENT = {
    "ACCORD_KEY_PROVIDER": "pkcs11",
    # Any existing file passes the presence check, which runs before a library is loaded.
    "ACCORD_PKCS11_MODULE": str(Path(__file__)),
    "ACCORD_PKCS11_TOKEN": "accord",
    "ACCORD_PKCS11_PIN": "1234",
    "ACCORD_PKCS11_KEY_LABEL": "accord-master",
}


@pytest.mark.parametrize(
    ("drop", "overrides", "named"),
    [
        ("ACCORD_PKCS11_MODULE", {}, "ACCORD_PKCS11_MODULE"),
        ("ACCORD_PKCS11_TOKEN", {}, "ACCORD_PKCS11_TOKEN"),
        ("ACCORD_PKCS11_PIN", {}, "ACCORD_PKCS11_PIN"),
        ("ACCORD_PKCS11_KEY_LABEL", {}, "ACCORD_PKCS11_KEY_LABEL"),
        ("", {"ACCORD_PKCS11_MODULE": "/nonexistent/libpkcs11.so"}, "ACCORD_PKCS11_MODULE"),
        ("ACCORD_PKCS11_PIN", {"ACCORD_PKCS11_PIN_FILE": "/nonexistent/pin"}, "ACCORD_PKCS11_PIN_FILE"),
        ("", {"ACCORD_KEY_PROVIDER": "vault"}, "ACCORD_KEY_PROVIDER"),
    ],
)
def test_a_missing_setting_is_named_at_start(tmp_path, drop, overrides, named):
    result = _run(tmp_path, "manage.py", "check", env={**PRESENT, **overrides}, drop=[drop] if drop else [])
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr
    web = _run(tmp_path, "-c", "import portal.wsgi", env={**PRESENT, **overrides}, drop=[drop] if drop else [])
    assert web.returncode != 0
    assert "ImproperlyConfigured" in web.stderr and named in web.stderr
    code, output = _worker(tmp_path, {**PRESENT, **overrides}, drop=[drop] if drop else [])
    assert code not in (None, 0), f"the worker started without {named}:\n{output}"
    assert named in output


@pytest.mark.parametrize(("given", "provider"), [(None, "file"), ("file", "file"), ("env", "file")])
def test_the_key_file_stays_the_embedded_default(tmp_path, given, provider):
    env = {} if given is None else {"ACCORD_KEY_PROVIDER": given}
    script = "import django; django.setup(); from django.conf import settings as s; print(s.ACCORD_KEY_PROVIDER)"
    result = _run(tmp_path, "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == provider


@pytest.fixture
def token_env(tmp_path, monkeypatch):
    """A token holding a master key (made in this process; the subprocesses open it again)."""
    token = make_token(tmp_path / "softhsm", monkeypatch)
    config = token.settings()
    provider = Pkcs11Provider(
        module=config["MODULE"], token=config["TOKEN"], pin=config["PIN"], key_label=config["KEY_LABEL"]
    )
    provider.create_key()
    provider.reset()
    return token.environment()


@pytest.mark.services
def test_the_token_as_configured_starts(tmp_path, token_env):
    result = _run(tmp_path, "manage.py", "check", env=token_env)
    assert result.returncode == 0, result.stderr
    pin_file = tmp_path / "pin"
    pin_file.write_text(token_env["ACCORD_PKCS11_PIN"] + "\n")
    by_file = {**token_env, "ACCORD_PKCS11_PIN_FILE": str(pin_file)}
    del by_file["ACCORD_PKCS11_PIN"]
    result = _run(tmp_path, "-c", "import portal.wsgi", env=by_file)
    assert result.returncode == 0, result.stderr
    # The worker's start-up check passes too: it comes up ready (what the refusals below are not).
    code, output = _worker(tmp_path, by_file)
    assert code is None, output
    assert "ImproperlyConfigured" not in output


@pytest.mark.services
@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"ACCORD_PKCS11_PIN": "0000-0000"}, "ACCORD_PKCS11_PIN"),
        ({"ACCORD_PKCS11_TOKEN": "no-such-token"}, "ACCORD_PKCS11_TOKEN"),
        ({"ACCORD_PKCS11_KEY_LABEL": "no-such-key"}, "ACCORD_PKCS11_KEY_LABEL"),
        ({"ACCORD_PKCS11_MODULE": str(Path(__file__))}, "ACCORD_PKCS11_MODULE"),
        ({"ACCORD_PKCS11_PIN_FILE": "0000-0000\n"}, "ACCORD_PKCS11_PIN_FILE"),
    ],
)
def test_a_wrong_setting_stops_web_worker_and_checks_naming_it(tmp_path, token_env, overrides, named):
    env = {**token_env, **overrides}
    if "ACCORD_PKCS11_PIN_FILE" in overrides:  # a file that exists and holds the wrong PIN
        pin_file = tmp_path / "pin"
        pin_file.write_text(overrides["ACCORD_PKCS11_PIN_FILE"])
        env["ACCORD_PKCS11_PIN_FILE"] = str(pin_file)
        del env["ACCORD_PKCS11_PIN"]
    check = _run(tmp_path, "manage.py", "check", env=env)
    assert check.returncode != 0
    assert named in check.stderr
    web = _run(tmp_path, "-c", "import portal.wsgi", env=env)
    assert web.returncode != 0
    assert "ImproperlyConfigured" in web.stderr and named in web.stderr
    # Celery logs and swallows what a worker_init receiver raises: the worker must exit all the
    # same, rather than come up and fail every task that needs a key.
    code, output = _worker(tmp_path, env)
    assert code not in (None, 0), f"the worker started with a wrong {named}:\n{output}"
    assert "ImproperlyConfigured" in output and named in output
