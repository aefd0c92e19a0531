"""`manage.py keys rotate --org <short name>`: a new KEK version; DEKs re-wrapped by a task."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from vault.keys import kek_rotate


class Command(BaseCommand):
    help = "Manage organisation key-encryption keys."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        rotate = sub.add_parser("rotate", help="Make a new KEK version and re-wrap every data key under it.")
        rotate.add_argument("--org", required=True, help="the organisation's short name")

    def handle(self, *args, **options) -> None:
        if options["command"] == "rotate":
            organisation = Organisation.objects.filter(short_name=options["org"]).first()
            if organisation is None:
                raise CommandError(f"no organisation with short name {options['org']!r}")
            key = kek_rotate(organisation=organisation, actor=None)
            self.stdout.write(f"{organisation.short_name}: KEK version {key.version} created; re-wrap queued.")
