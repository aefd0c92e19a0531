"""`manage.py api_token create --user EMAIL --scope read,write --days N` for automation.

Prints the token once on stdout (nothing else goes there, so `$(…)` captures it); it is stored
only as a hash. `list` and `revoke` manage existing tokens.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User

from ...models import ApiToken
from ...tokens import token_create, token_revoke


class Command(BaseCommand):
    help = "Make, list or revoke personal API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token and print it once")
        create.add_argument("--user", required=True, help="the email of the account the token acts as")
        create.add_argument(
            "--scope",
            default="read",
            help="read, write or read,write (default: read); a decide token is made only in the portal",
        )
        create.add_argument("--days", type=int, default=90, help="lifetime in days (default: 90)")
        create.add_argument("--name", default="", help="where the token is used (default: 'command line')")
        listing = sub.add_parser("list", help="list a user's tokens")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix (the part after accord_)")
        revoke.add_argument("prefix")

    def handle(self, *args, action: str, **options):
        return getattr(self, f"_{action}")(**options)

    def _user(self, email: str) -> User:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No account with the email {email!r}.")
        return user

    def _create(self, *, user: str, scope: str, days: int, name: str, **_):
        account = self._user(user)
        try:
            # The command runs as the operator of the instance: the audit row names the account.
            new = token_create(actor=None, user=account, name=name or "command line", scopes=scope, days=days)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
        self.stderr.write(
            f"Token '{new.token.name}' for {account.email}, scopes {new.token.scopes}, "
            f"expires {new.token.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now:"
        )
        self.stdout.write(new.secret)

    def _list(self, *, user: str, **_):
        for token in ApiToken.objects.filter(user=self._user(user)).order_by("-created_at"):
            state = "revoked" if token.revoked_at else ("expired" if token.is_expired() else "active")
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"accord_{token.prefix}_…  {token.scopes:<10} {state:<8} "
                f"expires {token.expires_at:%Y-%m-%d}  last used {used}  {token.name}"
            )

    def _revoke(self, *, prefix: str, **_):
        prefix = prefix.removeprefix("accord_").split("_", 1)[0]
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token with the prefix {prefix!r}.")
        token_revoke(actor=None, token=token)
        self.stderr.write(f"Revoked accord_{token.prefix}_… ({token.name}).")
