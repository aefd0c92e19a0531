"""Making a compartment: owned by one organisation, its founder read in from the first moment.

A compartment nobody is read in to can never gain a member (`readin_grant` asks the granting
admin to be read in themselves), so the admin who makes one is read in by the same transaction.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from ..models import Compartment, Organisation, ReadIn, User
from ..roles import Role, has_role
from ._rules import clean_or_refuse


def compartment_create(*, actor: User, code: str, name: str, owner: Organisation, description: str = "") -> Compartment:
    """Make compartment `code` owned by `owner`; the actor, an admin of `owner`, is read in to it."""
    action = Action.COMPARTMENT_CREATED
    code = (code or "").strip().lower()
    target = ("compartment", code[:40], "")
    if actor.organisation_id != owner.pk or not has_role(actor, Role.ORG_ADMIN, owner):
        refuse(actor, action, target, Reason.NOT_COMPARTMENT_OWNER, error=PermissionDenied)
    if Compartment.objects.filter(code=code).exists():
        refuse(actor, action, target, Reason.COMPARTMENT_CODE_TAKEN, field="code")
    compartment = Compartment(code=code, name=name, description=description, owner=owner)
    clean_or_refuse(compartment, action, actor=actor, target=target)
    with transaction.atomic():
        compartment.save(force_insert=True)
        record(action, actor=actor, target=target, details={"owner": owner.short_name})
        readin = ReadIn.objects.create(user=actor, compartment=compartment, granted_by=actor, granted_at=timezone.now())
        record(Action.READIN_GRANTED, actor=actor, target=readin, details={"compartment": code, "founder": True})
    return compartment
