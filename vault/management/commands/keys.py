"""`manage.py keys …`: organisation keys and the master key.

    keys rotate --org <short name>     a new KEK version; DEKs re-wrapped by a task
    keys create-master                 generate the master key in the PKCS#11 token
    keys migrate-to-token [--dry-run]  re-wrap every organisation key from the file key into the token
    keys rotate-master [--dry-run]     a new master key in the token; every organisation key moved onto it
    keys master-status                 which master key wraps how many organisation keys
    keys destroy-master <ref>          destroy a retired token key that wraps nothing any more

migrate-to-token and rotate-master are resumable: each batch commits on its own, so running the
same command again after an interruption moves only the rows still behind (rotate-master makes a
new key only once no organisation key is left on an older key of the token).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Organisation
from audit.models import Action
from audit.services import record
from vault import keys, masterkeys
from vault.keys import kek_rotate


class Command(BaseCommand):
    help = "Manage organisation key-encryption keys and the master key."
    # Creating the master key must work before the start-up check (which wants it) can pass.
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        rotate = sub.add_parser("rotate", help="Make a new KEK version and re-wrap every data key under it.")
        rotate.add_argument("--org", required=True, help="the organisation's short name")
        sub.add_parser("create-master", help="Generate the master key in the PKCS#11 token (first time only).")
        for name, text in (
            ("migrate-to-token", "Re-wrap every organisation key from the file master key into the token."),
            ("rotate-master", "Generate a new master key in the token and re-wrap every organisation key with it."),
        ):
            command = sub.add_parser(name, help=text)
            command.add_argument("--dry-run", action="store_true", help="unwrap every key to prove it, write nothing")
            command.add_argument("--batch", type=int, default=100, help="organisation keys per transaction")
            command.add_argument("--limit", type=int, default=None, help="stop after this many (resume later)")
        sub.add_parser("master-status", help="Which master key wraps how many organisation keys.")
        destroy = sub.add_parser("destroy-master", help="Destroy a retired master key that wraps nothing.")
        destroy.add_argument("ref", help="the key's reference, as master-status shows it")

    def handle(self, *args, **options) -> None:
        command = options["command"]
        if command == "rotate":
            organisation = Organisation.objects.filter(short_name=options["org"]).first()
            if organisation is None:
                raise CommandError(f"no organisation with short name {options['org']!r}")
            key = kek_rotate(organisation=organisation, actor=None)
            self.stdout.write(f"{organisation.short_name}: KEK version {key.version} created; re-wrap queued.")
            return
        if command == "master-status":
            self._status()
            return
        token = self._token()
        try:
            getattr(self, "_" + command.replace("-", "_"))(token, options)
        except masterkeys.KeyProviderUnavailable as exc:
            raise CommandError(
                f"the token stopped answering ({exc}); every batch before this one is saved, this one was "
                "rolled back. Run the same command again to resume."
            ) from exc
        except masterkeys.KeyUnwrapError as exc:
            raise CommandError(str(exc)) from exc

    def _token(self) -> masterkeys.Pkcs11Provider:
        if settings.ACCORD_KEY_PROVIDER != "pkcs11":
            raise CommandError("ACCORD_KEY_PROVIDER is not pkcs11: set it and the ACCORD_PKCS11_* variables first")
        try:
            masterkeys.verify_configuration(require_key=False)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        return masterkeys.provider()

    def _create_master(self, token, options) -> None:
        if token.key_ids():
            raise CommandError(
                f"the token already holds a master key labelled {token.key_label!r}: "
                "use `keys rotate-master` for a new one"
            )
        ref = self._create(token, {})
        self.stdout.write(f"Created master key {ref} (AES-256, sensitive, not extractable).")

    def _create(self, token, details: dict) -> str:
        # The event is written first, in the transaction that ends once the key exists: a key the
        # token refused leaves no event, and no key exists without one.
        with transaction.atomic():
            ref = token.ref_for(max(token.key_ids(), default=0) + 1)
            record(Action.MASTER_KEY_CREATED, target=("vault.masterkey", ref, ""), details={"ref": ref, **details})
            created = token.create_key()
            if created != ref:  # another process made one meanwhile: roll back, let them retry
                raise CommandError(f"the token made {created}, not {ref}: another process is creating keys")
        return ref

    def _migrate_to_token(self, token, options) -> None:
        if settings.MASTER_KEY is None and keys.master_key_counts().get(masterkeys.FILE_REF):
            raise CommandError(
                "organisation keys are still wrapped by the file master key, and none is configured: "
                "set ACCORD_MASTER_KEY_FILE (or ACCORD_MASTER_KEY) for the migration"
            )
        self._rewrap(token.current_ref(), options)

    def _rotate_master(self, token, options) -> None:
        if not token.key_ids():
            raise CommandError("the token holds no master key yet: run `keys create-master` first")
        current = token.current_ref()
        if self._behind_in_token(current):
            # A rotation stopped part-way (a kill, --limit, the token away): finish moving onto
            # the key it made, rather than make yet another and leave two behind.
            self.stdout.write(f"Resuming the rotation onto {current}.")
            self._rewrap(current, options)
            return
        if options["dry_run"]:
            following = token.ref_for(max(token.key_ids()) + 1)
            self._rewrap(following, options)  # no row is under the next key yet: every one is opened
            return
        ref = self._create(token, {"rotation": True})
        self.stdout.write(f"Created master key {ref}.")
        self._rewrap(ref, options)

    def _behind_in_token(self, current: str) -> int:
        """Organisation keys wrapped by an older key of the token than its current one."""
        return sum(
            count
            for ref, count in keys.master_key_counts().items()
            if ref.startswith(masterkeys.PKCS11_PREFIX) and ref != current
        )

    def _on(self, ref: str) -> int:
        return keys.master_key_counts().get(ref, 0)

    def _rewrap(self, ref: str, options) -> None:
        moved = keys.rewrap_master(
            target_ref=ref, dry_run=options["dry_run"], batch=max(1, options["batch"]), limit=options["limit"]
        )
        behind = sum(count for key, count in keys.master_key_counts().items() if key != ref)
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {moved} organisation keys would be re-wrapped with {ref}; each was opened with "
                "its master key; nothing was written."
            )
            return
        self.stdout.write(f"Re-wrapped {moved} organisation keys with {ref}; {behind} still behind.")
        if behind:
            self.stdout.write("Run the same command again to move the rest.")

    def _status(self) -> None:
        current = None
        if settings.ACCORD_KEY_PROVIDER == "pkcs11":
            current = self._token().current_ref()
        elif settings.MASTER_KEY is not None:
            current = masterkeys.FILE_REF
        counts = keys.master_key_counts()
        self.stdout.write(f"provider: {settings.ACCORD_KEY_PROVIDER}; new keys are wrapped by {current}")
        for ref, count in counts.items():
            self.stdout.write(f"{ref}: {count} organisation keys{' (current)' if ref == current else ''}")
        if settings.ACCORD_KEY_PROVIDER == "pkcs11":
            token = masterkeys.provider()
            for key_id in token.key_ids():
                ref = token.ref_for(key_id)
                if ref not in counts:
                    self.stdout.write(f"{ref}: in the token, wraps nothing{' (current)' if ref == current else ''}")

    def _destroy_master(self, token, options) -> None:
        ref = options["ref"]
        if ref == token.current_ref():
            raise CommandError(f"{ref} is the current master key: rotate first")
        if self._on(ref):
            raise CommandError(f"{ref} still wraps {self._on(ref)} organisation keys: run `keys rotate-master` again")
        token.destroy_key(ref)
        record(Action.MASTER_KEY_DESTROYED, target=("vault.masterkey", ref, ""), details={"ref": ref})
        self.stdout.write(f"Destroyed master key {ref}.")
