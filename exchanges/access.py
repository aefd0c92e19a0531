"""Gates: a view reaches a secondment only through one of these (404 for missing and not yours)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404

from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse

from .models import Secondment
from .selectors import visible_secondments


def _parse(code: Any) -> uuid.UUID | None:
    try:
        return code if isinstance(code, uuid.UUID) else uuid.UUID(str(code))
    except (TypeError, ValueError, AttributeError):
        return None


def secondment_for_viewer(user: Any, code: Any, *, wanted: str) -> Secondment:
    """The secondment if `user` is its person or administers its home or host; anyone else gets
    the same 404 as for a missing one, audited."""
    parsed = _parse(code)
    found = None
    if parsed is not None:
        found = (
            visible_secondments(user)
            .select_related("person", "home", "host", "agreement", "clearance")
            .filter(code=parsed)
            .first()
        )
    if found is None:
        existing = Secondment.objects.filter(code=parsed).first() if parsed else None
        refuse(
            user,
            Action.ACCESS_DENIED,
            existing or ("exchanges.secondment", str(code)[:64], ""),
            Reason.NO_SUCH_SECONDMENT,
            error=Http404("No such secondment."),
            details={"wanted": wanted},
        )
    return found
