"""Token scopes: reads need `read`, changes need `write`."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from audit.models import Action
from audit.reasons import Reason
from audit.services import record_denial

from .models import ApiToken


def required_scope(method: str) -> str:
    return ApiToken.Scope.READ if method in SAFE_METHODS else ApiToken.Scope.WRITE


class TokenScope(BasePermission):
    """Authenticated by a live token whose scopes cover the method; a wrong scope is a 403,
    audited. (Unauthenticated requests get the 401 before this answers.)"""

    message = "This API token does not have the scope this request needs."
    code = "scope_missing"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or not request.user or not request.user.is_authenticated:
            return False
        scope = required_scope(request.method)
        if token.has_scope(scope):
            return True
        record_denial(
            Action.ACCESS_DENIED,
            actor=request.user,
            target=token,
            details={"reason": Reason.TOKEN_SCOPE.value, "wanted": scope, "path": request.path},
        )
        self.message = f"This API token lacks the '{scope}' scope."
        return False


class DecideScope(BasePermission):
    """The decisions the portal asks a security key for (accounts/stepup.py) need a token with
    the `decide` scope, which is made only right after one; any other token gets a 403 saying so."""

    message = Reason.TOKEN_DECIDE_SCOPE.sentence().capitalize() + "."
    code = "decide_scope_missing"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.has_scope(ApiToken.Scope.DECIDE):
            return True
        record_denial(
            Action.ACCESS_DENIED,
            actor=request.user,
            target=token if isinstance(token, ApiToken) else request.user,
            details={"reason": Reason.TOKEN_DECIDE_SCOPE.value, "wanted": "decide", "path": request.path},
        )
        return False
