from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .access import is_org_admin
from .roles import Role, has_role, is_portal_admin


def navigation(request) -> dict:
    # Lazy: the permission query runs only on pages whose template asks.
    return {
        "is_org_admin": SimpleLazyObject(lambda: is_org_admin(request.user)),
        "is_portal_admin": SimpleLazyObject(lambda: is_portal_admin(request.user)),
        # The release queue refuses anyone else: no menu item leads to a refusal.
        "is_release_officer": SimpleLazyObject(
            lambda: has_role(request.user, Role.RELEASE_OFFICER, getattr(request.user, "organisation", None))
        ),
    }
