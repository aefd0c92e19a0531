"""Gates for the organisation admin's view of its members' API tokens.

Lacking the organisation-admin role is a 403 (a person may know which roles they lack); a token
held outside the admin's own organisation is a 404, the same answer as for a token that does not
exist. Every refusal is audited.
"""

from __future__ import annotations

import uuid

from django.http import Http404

from accounts.models import Organisation
from accounts.roles import Role, require_role
from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse

from .models import ApiToken


def organisation_for_token_admin(user) -> Organisation:
    """The organisation whose members' tokens `user` administers, or PermissionDenied (403)."""
    organisation = getattr(user, "organisation", None)
    return require_role(user, Role.ORG_ADMIN, organisation, wanted="members' API tokens")


def token_for_org_admin(admin, code: uuid.UUID) -> ApiToken:
    """A token held by a member of the admin's own organisation; 404 when missing or another's."""
    organisation = organisation_for_token_admin(admin)
    token = ApiToken.objects.select_related("user__organisation").filter(code=code).first()
    if token is None or token.user.organisation_id != organisation.pk:
        target = ("api.apitoken", str(code), "")
        refuse(
            admin,
            Action.API_TOKEN_REVOKED,
            target,
            Reason.NO_SUCH_TOKEN_OF_THEIR_MEMBERS,
            error=Http404("No such token."),
        )
    return token
