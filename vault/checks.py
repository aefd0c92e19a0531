"""Start-up check: with ACCORD_KEY_PROVIDER=pkcs11, the module loads, the token opens with the PIN
and holds the master key, or the process stops naming the setting at fault.

Runs with every management command that runs Django's checks (runserver, migrate, check), and
the web (portal/wsgi.py) and worker (portal/celery.py) processes call it as they start.
"""

from __future__ import annotations

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from .masterkeys import verify_configuration


@register("accord")
def key_provider(app_configs, **kwargs) -> list[Error]:
    try:
        verify_configuration()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="accord.E010")]
    return []
