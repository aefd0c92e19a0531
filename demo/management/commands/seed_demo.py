"""`python manage.py seed_demo`: create (or top up) the demo and print every demo login."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp

from demo import people, seed


class Command(BaseCommand):
    help = "Create the demo organisations, people, clearances and read-ins (idempotent) and print the logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--code", metavar="EMAIL", help="only print the current TOTP code of a demo account")
        parser.add_argument("--quiet", action="store_true", help="do not print the table")

    def handle(self, *args, code: str | None = None, quiet: bool = False, **options) -> None:
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("seed_demo creates accounts with published passwords; it refuses to run in production.")
        if code:
            self.stdout.write(f"{totp(people.totp_secret(code.strip().lower())):06d}")
            return
        logins = seed.seed_all()
        if quiet:
            return
        columns = ["email", "role", "org", "clearance", "password", "TOTP secret (base32)"]
        rows = [[x.email, x.title, x.org, x.clearance, x.password, x.totp_secret] for x in logins]
        widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns))]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        self.stdout.write(line.format(*columns).rstrip())
        self.stdout.write(line.format(*("-" * w for w in widths)).rstrip())
        for login, row in zip(logins, rows, strict=True):
            notes = f"  ({'; '.join(login.notes)})" if login.notes else ""
            self.stdout.write(line.format(*row).rstrip() + notes)
        self.stdout.write(
            "\nSign in at http://127.0.0.1:8000/ with an email and the password, then a six-digit code from any "
            "authenticator app given the secret, or from: python manage.py seed_demo --code EMAIL"
        )
