from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import totp

from accounts.models import ClearanceGrant, Compartment, Organisation, ReadIn, User, clearance_of
from accounts.roles import Role, is_granted
from audit.models import AuditEvent
from demo import people, seed

pytestmark = pytest.mark.django_db


def _counts():
    return [m.objects.count() for m in (Organisation, User, ClearanceGrant, ReadIn, Compartment)] + [
        AuditEvent.objects.count()
    ]


def test_seed_demo_is_idempotent_and_prints_every_login(capsys):
    call_command("seed_demo")
    first = _counts()
    out = capsys.readouterr().out
    for person in people.PEOPLE:
        assert person.email in out
        assert people.base32(people.totp_secret(person.email)) in out
    assert people.DEMO_PASSWORD in out
    call_command("seed_demo", "--quiet")
    assert _counts() == first


def test_demo_world_has_the_variety_the_rules_need():
    seed.seed_all()
    assert set(Organisation.objects.values_list("country", flat=True)) == {"GBR", "USA", "CAN"}
    uma = User.objects.get(email="uma@ukasi.example")
    assert uma.organisation.country_id == "GBR" and uma.nationality_id == "USA"
    olivia = User.objects.get(email="olivia@ukasi.example")
    assert is_granted(olivia, Role.ORG_ADMIN, olivia.organisation) and clearance_of(olivia).code == "secret"
    rachel = User.objects.get(email="rachel@ukasi.example")
    assert is_granted(rachel, Role.RELEASE_OFFICER, rachel.organisation)
    assert clearance_of(User.objects.get(email="nadia@ukasi.example")) is None
    alice = User.objects.get(email="alice@ukasi.example")
    assert ClearanceGrant.objects.get(user=alice, tier__code="secret").status == ClearanceGrant.Status.PENDING
    assert ReadIn.objects.valid_now().filter(compartment__code="cbrn").count() >= 2
    assert (
        ReadIn.objects.valid_now()
        .filter(compartment__code="joint-ex-1", user__organisation__short_name="caisi")
        .exists()
    )
    admin = User.objects.get(email="admin@accord.example")
    assert admin.is_staff and admin.is_superuser and admin.organisation is None
    # Members belong to their organisation's group, through which releases reach them.
    assert olivia.organisation.group.user_set.filter(pk=olivia.pk).exists()


def test_a_script_can_sign_in_with_a_printed_secret(client):
    seed.seed_all()
    email = "bob@caisi.example"
    client.post(reverse("accounts:login"), {"username": email, "password": people.DEMO_PASSWORD})
    code = f"{totp(people.totp_secret(email)):06d}"
    assert client.post(reverse("accounts:mfa_verify"), {"token": code}).status_code == 302
    assert client.get("/").status_code == 200


def test_seed_demo_refuses_to_run_in_production(settings):
    from django.core.management.base import CommandError

    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")


def test_demo_has_a_running_uk_us_exercise_the_canadians_do_not_see():
    from exercises.models import Exercise, ProtocolVersion
    from exercises.policy import can_see, visible_exercises

    seed.seed_all()
    exercise = Exercise.objects.get(reference="JOINT-EX-2")
    assert exercise.phase == Exercise.Phase.RUNNING and exercise.lead.short_name == "ukasi"
    assert sorted(exercise.participants.values_list("short_name", flat=True)) == ["caisi", "ukasi"]
    assert exercise.target_access == Exercise.Access.PUBLIC and exercise.reference_models.count() == 1
    version = exercise.protocol_versions.get()
    assert version.status == ProtocolVersion.Status.ADOPTED and version.tasks.count() == 3
    assert sorted(version.signatures.values_list("organisation__short_name", flat=True)) == ["caisi", "ukasi"]
    for email in ("priya@ukasi.example", "olivia@ukasi.example", "bob@caisi.example", "andrew@caisi.example"):
        assert can_see(User.objects.get(email=email), exercise), email
    for email in ("chloe@cais.example", "carl@cais.example", "gwen@cais.example", "ravi@caisi.example"):
        user = User.objects.get(email=email)
        assert not can_see(user, exercise) and not visible_exercises(user).exists(), email
