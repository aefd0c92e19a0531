"""Restore drill: back up a scratch installation, wipe it, restore it elsewhere, prove it whole.

Run by `make restore-drill` on a machine with PostgreSQL (DRILL_PG, default the local server):
1. a scratch database and scratch media and key directories, migrated and filled with data
   (the demo seed when present, audit events, attachments when the attachment service exists);
2. the backup, as docs/DEPLOY.md prescribes: `pg_dump --format=custom`, a tar of the
   ciphertext store, and — kept apart — a tar of the key directory;
3. the wipe: the database dropped, the directories deleted;
4. the restore into a new database and new directories;
5. the checks: every table's row count as before, every blob's SHA-256 as before, the audit
   chain verifies (`manage.py audit verify`, when that command exists), and each attachment
   decrypts to the bytes uploaded (when attachments exist).
Exits non-zero on the first difference.
"""

from __future__ import annotations

import json
import os
import shutil

# The drill drives PostgreSQL's tools and manage.py with fixed argument lists, never a shell.
import subprocess  # nosec B404
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG = os.environ.get("DRILL_PG", "postgres://postgres@127.0.0.1:5432")
SOURCE_DB = os.environ.get("DRILL_SOURCE_DB", "accord_ops_drill")
RESTORED_DB = os.environ.get("DRILL_RESTORED_DB", "accord_ops_drill_restored")
WORK = Path(os.environ.get("DRILL_DIR", ROOT / "var" / "drill"))

# Runs inside `manage.py shell`: fill the installation with something worth restoring.
SEED = r"""
import hashlib, json, os
from django.core.management import call_command, get_commands
from audit.models import Action
from audit.services import record
if "seed_demo" in get_commands():
    call_command("seed_demo", verbosity=0)
for n in range(25):
    record(Action.AUDIT_VIEWED, actor=None, details={"drill": n})
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
made = {}
for n in range(3):
    # Stand-ins for ciphertext blobs: random bytes under random names, as the store holds them.
    default_storage.save(f"drill/{os.urandom(8).hex()}", ContentFile(os.urandom(200_000 + n)))
print("SEEDED " + json.dumps(made))
"""

# Runs inside `manage.py shell`: what the installation holds, as comparable JSON.
INVENTORY = r"""
import hashlib, json
from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
counts = {m._meta.label: m.objects.count() for m in apps.get_models() if not m._meta.proxy}
blobs = {}
def walk(prefix):
    dirs, files = default_storage.listdir(prefix)
    for f in files:
        name = f"{prefix}/{f}" if prefix else f
        with default_storage.open(name, "rb") as fh:
            blobs[name] = hashlib.sha256(fh.read()).hexdigest()
    for d in dirs:
        walk(f"{prefix}/{d}" if prefix else d)
walk("")
from audit.models import AuditEvent
from audit.chain import GENESIS_HASH, row_hash
from audit.verify import stream_rows
last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
# The chain recomputed here, independently of any verify command: gap-free, linked, unaltered,
# in chain order (position), each row rehashed from the text forms the database gives back.
prev, expected, chain_ok = GENESIS_HASH, 1, True
for row in stream_rows():
    chain_ok &= row[0] == expected and row[15] == prev and row_hash(row) == row[16]
    prev, expected = row[16], row[0] + 1
print("INVENTORY " + json.dumps({"counts": counts, "blobs": blobs, "audit_head": last, "chain_ok": chain_ok}, sort_keys=True))
"""


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(cmd: list[str], *, env: dict | None = None, capture: bool = False) -> str:
    shown = [arg if "\n" not in arg else "<script>" for arg in cmd]
    print("$ " + " ".join(shown), flush=True)
    # Fixed commands: our own interpreter and PostgreSQL's tools, arguments built here, no shell.
    done = subprocess.run(  # noqa: S603  # nosec B603
        cmd, env=env, cwd=ROOT, check=False, text=True, capture_output=capture, timeout=900
    )
    if done.returncode != 0:
        if capture:
            sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"restore drill FAILED at: {' '.join(cmd)} (exit {done.returncode})")
    return done.stdout if capture else ""


def psql(sql: str) -> None:
    run(["psql", f"{PG}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql])


def installation(db: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"{PG}/{db}",
        ACCORD_VAR_DIR=str(home / "var"),
        ACCORD_KEY_DIR=str(home / "keys"),
        ACCORD_MEDIA_ROOT=str(home / "media"),
        ACCORD_LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, *args: str, capture: bool = False) -> str:
    return run([PYTHON, "manage.py", *args], env=env, capture=capture)


def tagged(output: str, tag: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith(tag + " "))
    return json.loads(line[len(tag) + 1 :])


def main() -> None:
    started = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    source, restored, backups = WORK / "source", WORK / "restored", WORK / "backups"
    backups.mkdir(parents=True, mode=0o700)

    step("1. a scratch installation with data")
    psql(f"DROP DATABASE IF EXISTS {SOURCE_DB}")
    psql(f"DROP DATABASE IF EXISTS {RESTORED_DB}")
    psql(f"CREATE DATABASE {SOURCE_DB}")
    src = installation(SOURCE_DB, source)
    manage(src, "migrate", "--noinput", "-v", "0")
    seeded = tagged(manage(src, "shell", "-c", SEED, capture=True), "SEEDED")
    before = tagged(manage(src, "shell", "-c", INVENTORY, capture=True), "INVENTORY")
    rows = sum(before["counts"].values())
    print(
        f"   {rows} rows in {len(before['counts'])} tables, {len(before['blobs'])} blobs, audit head {before['audit_head']}"
    )
    if "audit" in manage(src, "help", "--commands", capture=True).split():
        manage(src, "audit", "verify")

    step("2. back up: database (pg_dump custom format), ciphertext store, key directory apart")
    dump = backups / "accord.dump"
    run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), f"{PG}/{SOURCE_DB}"])
    with tarfile.open(backups / "media.tar.gz", "w:gz") as tar:
        tar.add(source / "media", arcname="media")
    keys_tar = backups / "keys.tar.gz"
    with tarfile.open(keys_tar, "w:gz") as tar:
        tar.add(source / "keys", arcname="keys")
    keys_tar.chmod(0o600)
    for path in sorted(backups.iterdir()):
        print(f"   {path.name}: {path.stat().st_size} bytes")

    step("3. wipe: drop the database, delete the ciphertext store and the keys")
    psql(f"DROP DATABASE {SOURCE_DB}")
    shutil.rmtree(source)

    step("4. restore into a new database and new directories")
    psql(f"CREATE DATABASE {RESTORED_DB}")
    run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", f"{PG}/{RESTORED_DB}", str(dump)])
    restored.mkdir(parents=True)
    for archive in ("media.tar.gz", "keys.tar.gz"):
        with tarfile.open(backups / archive) as tar:
            tar.extractall(restored, filter="data")
    (restored / "keys").chmod(0o700)
    dst = installation(RESTORED_DB, restored)

    step("5. verify: row counts, blob hashes, audit chain, attachments decrypt")
    manage(dst, "migrate", "--check")
    after = tagged(manage(dst, "shell", "-c", INVENTORY, capture=True), "INVENTORY")
    problems = []
    for label, count in before["counts"].items():
        if after["counts"].get(label) != count:
            problems.append(f"{label}: {count} rows before, {after['counts'].get(label)} after")
    if after["blobs"] != before["blobs"]:
        problems.append("the ciphertext store differs after restore")
    if not (before["chain_ok"] and after["chain_ok"]):
        problems.append(f"audit chain recomputation: before {before['chain_ok']}, after {after['chain_ok']}")
    if after["audit_head"] != before["audit_head"]:
        problems.append(f"audit head {before['audit_head']} before, {after['audit_head']} after")
    if problems:
        raise SystemExit("restore drill FAILED:\n  " + "\n  ".join(problems))
    print(
        f"   {rows} rows and {len(after['blobs'])} blobs identical; audit chain recomputed, head {after['audit_head'][0]}"
    )
    if "audit" in manage(dst, "help", "--commands", capture=True).split():
        manage(dst, "audit", "verify")
        print("   audit verify: ok")
    else:
        print("   audit verify: command not installed here, chain head compared instead")
    if seeded:
        check = r"""
import json
from sharing import attachments as att
print("CHECKED " + json.dumps(att.drill_check(%s)))
""" % json.dumps(seeded)  # noqa: UP031 - a code template, not a message
        checked = tagged(manage(dst, "shell", "-c", check, capture=True), "CHECKED")
        if not all(checked.values()):
            raise SystemExit(f"restore drill FAILED: attachments that no longer decrypt: {checked}")
        print(f"   {len(checked)} attachments decrypt to the bytes uploaded")

    psql(f"DROP DATABASE {RESTORED_DB}")
    shutil.rmtree(WORK)
    print(f"\nrestore drill passed in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
