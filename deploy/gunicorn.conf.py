"""gunicorn configuration for Accord's web nodes (`gunicorn -c deploy/gunicorn.conf.py portal.wsgi`).

Every knob reads an environment variable so one file serves every node; the defaults suit a
node behind the nginx example in deploy/nginx/accord.conf.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9))

# gthread, not sync: a 2 GiB upload streamed at a slow client's pace holds one request for many
# minutes. A sync worker only heartbeats between requests, so the arbiter would kill it mid-upload
# after `timeout`; a gthread worker's main loop keeps heartbeating while its threads stream, so
# `timeout` guards against a hung process, not against a long request.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 120)
# On reload or shutdown, let uploads and downloads in flight finish before the worker is killed.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 300)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then so a slow leak in any library cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Only the proxy in front may set X-Forwarded-Proto/-For; from anyone else they are ignored.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips

# Header limits: the defaults, stated, so a change is a visible decision.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Heartbeat files on tmpfs: a worker blocked on a slow disk must not look dead. gunicorn creates
# them with mkstemp and unlinks them at once, so a shared directory is safe here.
_SHM = "/dev/shm"  # noqa: S108  # nosec B108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", _SHM if os.path.isdir(_SHM) else None)

# No access log: the application writes one line per request (logger `accord.request`) with the
# request id that the audit rows carry, the status and the duration, and without query strings,
# which can hold search terms. gunicorn's own access log would duplicate it and leak them.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
capture_output = False

if os.environ.get("ACCORD_LOG_FORMAT", "json" if os.environ.get("ACCORD_ENV") == "production" else "text") == "json":
    # gunicorn's own messages (boot, worker exits, timeouts) as JSON lines, like the app's.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "portal.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": [], "propagate": False},
        },
    }

# The control socket (gunicornc) lives in the unit's runtime directory, not in $HOME, which the
# hardened unit hides. Without RUNTIME_DIRECTORY (a shell, a test) it is switched off.
_runtime = os.environ.get("RUNTIME_DIRECTORY")
if _runtime:
    control_socket = os.path.join(_runtime, "gunicorn.ctl")
else:
    control_socket_disable = True

# Load the application in each worker (not the arbiter), so a worker recycle re-reads nothing
# stale and database connections are never shared across fork.
preload_app = False
