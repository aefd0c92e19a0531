"""Acting for the host, decided again on every request (end at the second).

A session that chose to act for a host (`SESSION_KEY`: the secondment's code) is presented as a
member of the host (`accounts.affiliations.present_as_host_member`) only while that secondment
is active at this request's start; otherwise the flag is cleared, the fall-back to home is
audited and the person is told. The API authenticates by token and never reads the session:
tokens always act for home, so no token is ever scoped to a host.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.utils import timezone

from accounts.affiliations import HostAffiliation, present_as_host_member
from accounts.middleware import RequireMFAMiddleware

from .selectors import active_secondments_of
from .services import secondment_fall_back

SESSION_KEY = "accord_acting_for"
# Set at sign-in for a person on an active secondment: only their requests look for one to show
# in the header while they act for home (everyone else's cost nothing).
SECONDEE_HINT = "accord_secondee"


class ActingForMiddleware:
    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(RequireMFAMiddleware.BEARER_ONLY_PREFIXES):
            self._present(request)
        return self.get_response(request)

    @staticmethod
    def _present(request) -> None:
        code = request.session.get(SESSION_KEY)
        if not request.user.is_authenticated:
            return
        user = request.user
        if not code:
            if request.session.get(SECONDEE_HINT):
                # Acting for home: the header says so, with the way to the switch.
                user.secondment_at_home = (
                    active_secondments_of(user, timezone.now()).select_related("home", "host").first()
                )
            return
        secondment = (
            active_secondments_of(user, timezone.now())
            .select_related("home", "host", "clearance")
            .filter(code=code)
            .first()
        )
        if secondment is None:
            del request.session[SESSION_KEY]
            secondment_fall_back(actor=user, secondment_code=code)
            messages.info(request, "Your secondment is no longer active: you are acting for your own organisation.")
            return
        present_as_host_member(
            user,
            HostAffiliation(
                secondment_code=str(secondment.code),
                home=secondment.home,
                host=secondment.host,
                role=secondment.role,
                clearance=secondment.clearance,
                ends_at=secondment.ends_at,
            ),
        )


def note_secondee(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver: remember in the session that this person is on a secondment."""
    if active_secondments_of(user, timezone.now()).exists():
        request.session[SECONDEE_HINT] = True
