"""`manage.py policy rebuild`: recompute the kept visibility table from the rules;
`manage.py policy check`: compare it with the rules without changing it (exit 1 on a difference)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.models import Action
from audit.services import record
from sharing import visibility
from sharing.models import Visibility


class Command(BaseCommand):
    help = "Rebuild or check the kept visibility table (which organisation may see which document, when)."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["rebuild", "check"])

    def handle(self, *args, what: str, **options):
        if what == "rebuild":
            with transaction.atomic():
                before = Visibility.objects.count()
                count = visibility.rebuild()
                record(Action.VISIBILITY_REBUILT, details={"rows_before": before, "rows": count})
            self.stdout.write(f"kept visibility rebuilt: {before} rows before, {count} now")
            return
        kept, ruled = visibility.kept_rows(), visibility.rows_by_rules()
        if kept != ruled:
            raise CommandError(
                f"kept visibility differs from the rules: {len(kept - ruled)} rows too many, "
                f"{len(ruled - kept)} missing; run `manage.py policy rebuild`"
            )
        self.stdout.write(f"kept visibility agrees with the rules: {len(kept)} rows")
