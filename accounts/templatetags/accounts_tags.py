from __future__ import annotations

from django import template

from accounts.forms import ROLE_LABELS

register = template.Library()


@register.filter
def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


@register.inclusion_tag("accounts/org/_tier.html")
def tier_tag(tier):
    """A tier's name in its colour. The colour comes from a class, not a style attribute, so the
    strict CSP (no inline styles) holds."""
    return {"tier": tier}
