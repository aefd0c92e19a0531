"""Create the first portal admin of a fresh installation, without prompts.

    python manage.py bootstrap_admin --email admin@example.org --name "Ada Admin" --nationality GBR \
        [--password-file PATH | env ACCORD_ADMIN_PASSWORD] [--with-totp] [--force]

The password never comes from the command line (it would show in `ps` and shell history): it is
read from a file, from ACCORD_ADMIN_PASSWORD, or generated and printed once. MFA is mandatory:
by default the admin enrols an authenticator at first sign-in; `--with-totp` instead creates the
device now and prints its secret once, for installations scripted end to end.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Country, Organisation, User
from audit.models import Action
from audit.services import record


class Command(BaseCommand):
    help = "Create the first portal admin (staff and superuser) non-interactively."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default=os.environ.get("ACCORD_ADMIN_EMAIL"))
        parser.add_argument("--name", dest="display_name", default=os.environ.get("ACCORD_ADMIN_NAME"))
        parser.add_argument(
            "--nationality", default=os.environ.get("ACCORD_ADMIN_NATIONALITY"), help="ISO 3166 alpha-3"
        )
        parser.add_argument("--organisation", help="short name of an existing organisation (optional)")
        parser.add_argument("--password-file", type=Path, help="file holding the password (first line)")
        parser.add_argument("--with-totp", action="store_true", help="create the TOTP device now, print its secret")
        parser.add_argument("--force", action="store_true", help="create even though an admin exists")

    def handle(self, *args, **options) -> None:
        email = (options["email"] or "").strip().lower()
        display_name = (options["display_name"] or "").strip()
        if not email or not display_name or not options["nationality"]:
            raise CommandError("--email, --name and --nationality are required (or ACCORD_ADMIN_* variables)")
        if User.objects.filter(is_superuser=True).exists() and not options["force"]:
            raise CommandError("a portal admin already exists; use --force to add another")
        if User.objects.filter(email=email).exists():
            raise CommandError(f"a user with the email {email} already exists")
        try:
            nationality = Country.objects.get(code=options["nationality"].upper())
        except Country.DoesNotExist:
            raise CommandError(f"unknown country code {options['nationality']!r}") from None
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(short_name=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"no organisation with short name {options['organisation']!r}")

        password, generated = self._password(options["password_file"])
        probe = User(email=email, display_name=display_name, nationality=nationality)
        try:
            validate_password(password, user=probe)
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from None

        with transaction.atomic():
            user = User.objects.create_superuser(
                email, password, display_name=display_name, nationality=nationality, organisation=organisation
            )
            device = None
            if options["with_totp"]:
                device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)
            record(
                Action.USER_CREATED,
                actor=None,
                target=user,
                details={"portal_admin": True, "via": "bootstrap_admin", "totp_created": device is not None},
            )

        self.stdout.write(self.style.SUCCESS(f"Portal admin {email} created."))
        if generated:
            self.stdout.write(f"password: {password}")
        if device is not None:
            secret = base64.b32encode(device.bin_key).decode().rstrip("=")
            self.stdout.write(f"TOTP secret (base32): {secret}")
        else:
            self.stdout.write("MFA: the admin enrols an authenticator at first sign-in.")
        if generated or device is not None:
            self.stdout.write("Shown once: store it now, it is not kept in clear anywhere else.")

    def _password(self, path: Path | None) -> tuple[str, bool]:
        if path is not None:
            try:
                lines = path.read_text().splitlines()
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from None
            if not lines or not lines[0]:
                raise CommandError(f"{path} is empty")
            return lines[0], False
        from_env = os.environ.get("ACCORD_ADMIN_PASSWORD")
        if from_env:
            return from_env, False
        return secrets.token_urlsafe(18), True
