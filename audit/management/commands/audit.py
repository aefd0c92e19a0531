"""`python manage.py audit <verify|sequencer|checkpoint|export-checkpoints|keygen|public-key>`."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit import sequencer, signing
from audit.context import audit_scope
from audit.selectors import checkpoint_document
from audit.services import checkpoint_create, verification_record
from audit.verify import default_workers, load_checkpoint_file, verify_chain


class Command(BaseCommand):
    help = "Verify the audit chain, sign checkpoints, export them for partners, manage the signing key."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        verify = sub.add_parser("verify", help="recompute the chain and check every checkpoint")
        verify.add_argument("--checkpoints", metavar="FILE", help="check a partner's saved checkpoints (JSON)")
        verify.add_argument("--chunk-size", type=int, default=5000)
        verify.add_argument("--workers", type=int, default=None, help="processes (default: one per core, up to 4)")
        scope = verify.add_mutually_exclusive_group()
        scope.add_argument(
            "--incremental", action="store_true", help="from the last verified checkpoint (the routine job)"
        )
        scope.add_argument("--full", action="store_true", help="from the genesis (the default)")
        seq = sub.add_parser("sequencer", help="link inserted events into the chain, in batches, until stopped")
        seq.add_argument("--batch", type=int, default=sequencer.BATCH, help="events per batch (one commit each)")
        seq.add_argument("--idle", type=float, default=0.05, help="seconds to sleep when nothing waits")
        seq.add_argument("--once", action="store_true", help="seal what waits now, then stop")
        seq.add_argument("--seconds", type=float, default=None, help="stop after this long")
        sub.add_parser("checkpoint", help="sign the current head now")
        export = sub.add_parser("export-checkpoints", help="write every signed checkpoint as JSON")
        export.add_argument("--output", "-o", metavar="FILE", help="file to write (default: standard output)")
        sub.add_parser("keygen", help="create the instance's signing key (refuses to replace one)")
        sub.add_parser("public-key", help="print the public key partners verify checkpoints with")

    def handle(self, *args, **options):
        with audit_scope(request_id=f"cmd-audit-{options['subcommand']}"[:64], user_agent="manage.py audit"):
            return getattr(self, "_" + options["subcommand"].replace("-", "_"))(options)

    def _verify(self, options) -> None:
        started = timezone.now()
        checkpoints = None
        if options.get("checkpoints"):
            path = Path(options["checkpoints"])
            try:
                checkpoints = load_checkpoint_file(path.read_text().splitlines(keepends=True))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CommandError(f"cannot read checkpoints from {path}: {exc}") from exc
        workers = options.get("workers") or default_workers()
        incremental = bool(options.get("incremental"))
        result = verify_chain(
            checkpoints=checkpoints, chunk_size=options["chunk_size"], workers=workers, incremental=incremental
        )
        verification_record(
            result=result, started_at=started, trigger="command-incremental" if incremental else "command"
        )
        if not result.ok:
            for problem in result.problems[:20]:
                self.stderr.write(problem)
            raise CommandError(
                f"audit chain FAILED verification: first bad seq {result.first_bad_seq}: {result.message}"
            )
        since = f" from seq {result.from_seq}" if result.from_seq else ""
        self.stdout.write(
            f"audit chain OK{since}: {result.events} events, {result.checkpoints} checkpoints; "
            f"head seq {result.head_seq} hash {result.head_hash}; {result.unsealed} not yet sealed"
        )

    def _sequencer(self, options) -> None:
        if options["once"]:
            self.stdout.write(f"sealed {sequencer.seal_pending(limit=options['batch'])} events")
            return
        stopping = {"now": False}

        def stop(signum, frame):  # finish the batch in hand, then leave
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        deadline = time.monotonic() + options["seconds"] if options.get("seconds") else None
        self.stdout.write(f"audit sequencer running (mode {sequencer.mode()}, batch {options['batch']})")
        total = sequencer.run(
            batch=options["batch"], idle=options["idle"], should_stop=lambda: stopping["now"], deadline=deadline
        )
        self.stdout.write(f"audit sequencer stopped: sealed {total} events")

    def _checkpoint(self, options) -> None:
        try:
            checkpoint = checkpoint_create()
        except signing.SigningKeyMissing as exc:
            raise CommandError(str(exc)) from exc
        if checkpoint is None:
            self.stdout.write("nothing new since the last checkpoint")
        else:
            self.stdout.write(f"checkpoint seq {checkpoint.seq} head {checkpoint.head_hash} key {checkpoint.key_id}")

    def _export_checkpoints(self, options) -> None:
        document = checkpoint_document()
        text = json.dumps(document, indent=1) + "\n"
        if options.get("output"):
            Path(options["output"]).write_text(text)
            self.stdout.write(f"{len(document['checkpoints'])} checkpoints written to {options['output']}")
        else:
            self.stdout.write(text, ending="")

    def _keygen(self, options) -> None:
        try:
            key = signing.generate()
        except FileExistsError as exc:
            raise CommandError(f"a signing key already exists at {signing.key_path()}: refusing to replace it") from exc
        self.stdout.write(f"signing key {key.key_id} written to {signing.key_path()} (mode 0600)")

    def _public_key(self, options) -> None:
        try:
            key = signing.load()
        except signing.SigningKeyMissing as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(signing.public_pem(key.public).decode(), ending="")
