from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_admin", *args, stdout=out)
    return out.getvalue()


def test_creates_staff_superuser_with_generated_password_and_audits(client):
    out = _run("--email", "Ada@Example.org", "--name", "Ada Admin", "--nationality", "gbr")
    user = User.objects.get(email="ada@example.org")
    assert user.is_staff and user.is_superuser and user.is_active
    password = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("password: "))
    assert user.check_password(password)
    assert "enrols an authenticator at first sign-in" in out
    assert not TOTPDevice.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action=Action.USER_CREATED, target_id=str(user.code))
    assert event.details["via"] == "bootstrap_admin"
    assert password not in str(event.details)


def test_password_from_file_is_not_printed(tmp_path):
    secret_file = tmp_path / "pw"
    secret_file.write_text("a long enough passphrase for admin\n")
    out = _run(
        "--email", "ada@example.org", "--name", "Ada", "--nationality", "GBR", "--password-file", str(secret_file)
    )
    assert "passphrase" not in out
    assert User.objects.get(email="ada@example.org").check_password("a long enough passphrase for admin")


def test_with_totp_prints_a_working_secret():
    out = _run("--email", "ada@example.org", "--name", "Ada", "--nationality", "GBR", "--with-totp")
    secret = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("TOTP secret"))
    device = TOTPDevice.objects.get(user__email="ada@example.org", confirmed=True)
    import base64

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert key == device.bin_key
    assert device.verify_token(f"{totp(key, step=device.step, t0=device.t0, digits=device.digits):06d}")


def test_refuses_when_an_admin_exists_unless_forced():
    _run("--email", "ada@example.org", "--name", "Ada", "--nationality", "GBR")
    with pytest.raises(CommandError, match="already exists"):
        _run("--email", "bea@example.org", "--name", "Bea", "--nationality", "GBR")
    assert not User.objects.filter(email="bea@example.org").exists()
    _run("--email", "bea@example.org", "--name", "Bea", "--nationality", "GBR", "--force")
    assert User.objects.filter(is_superuser=True).count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "ada@example.org", "--name", "Ada"], "required"),
        (["--email", "ada@example.org", "--name", "Ada", "--nationality", "XXX"], "unknown country"),
        (
            ["--email", "ada@example.org", "--name", "Ada", "--nationality", "GBR", "--organisation", "nope"],
            "no organisation",
        ),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(args, message):
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert not User.objects.exists()
    assert AuditEvent.objects.count() == before


def test_weak_password_is_refused(tmp_path, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}}
    ]
    weak = tmp_path / "pw"
    weak.write_text("short\n")
    with pytest.raises(CommandError, match="password refused"):
        _run("--email", "ada@example.org", "--name", "Ada", "--nationality", "GBR", "--password-file", str(weak))
    assert not User.objects.exists()


def test_organisation_by_short_name(ukasi):
    _run("--email", "ada@example.org", "--name", "Ada", "--nationality", "GBR", "--organisation", "ukasi")
    assert User.objects.get(email="ada@example.org").organisation == ukasi
