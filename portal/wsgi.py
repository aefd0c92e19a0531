from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# A web process whose key token is misconfigured stops here, naming the setting.
from vault.masterkeys import verify_configuration  # noqa: E402 - needs the app registry above

verify_configuration()
