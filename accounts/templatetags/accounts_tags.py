from __future__ import annotations

from django import template

from accounts.roles import Role

register = template.Library()


@register.filter
def role_label(role: str) -> str:
    return Role(role).label if role in Role.values else role


@register.inclusion_tag("accounts/org/_tier.html")
def tier_tag(tier):
    """A tier's name in its colour. The colour comes from a class, not a style attribute, so the
    strict CSP (no inline styles) holds."""
    return {"tier": tier}
