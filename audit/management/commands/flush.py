"""`flush`, taught that the audit tables are append-only.

Django's test framework empties the database with `flush` after every transactional test; the
append-only triggers would refuse that. Outside production, the triggers are lifted for the
flush and put back straight after. In production the audit trail is never emptied: the command
refuses before touching anything.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections

from audit import triggers


class Command(flush.Command):
    help = flush.Command.help + " Refused in production, where the audit trail is append-only."

    def handle(self, **options):
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("flush would empty the append-only audit trail: refused in production")
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        vendor = connection.vendor
        with connection.cursor() as cursor:
            for sql in triggers.drop_statements(vendor):
                cursor.execute(sql)
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                for sql in triggers.create_statements(vendor):
                    cursor.execute(sql)
