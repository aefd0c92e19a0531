"""Template helpers for Accord's pages: GOV.UK form widgets, navigation, portion marks."""

from __future__ import annotations

from django import forms, template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

register = template.Library()

_WIDGET_CLASSES = {
    forms.Select: "govuk-select",
    forms.SelectMultiple: "govuk-select",
    forms.Textarea: "govuk-textarea",
    forms.CheckboxInput: "govuk-checkboxes__input",
    forms.ClearableFileInput: "govuk-file-upload",
    forms.FileInput: "govuk-file-upload",
}


@register.simple_tag
def govuk_widget(bound_field: forms.BoundField) -> str:
    """Render a field's widget with the GOV.UK class and the ids of its hint and errors."""
    widget = bound_field.field.widget
    css = next((cls for kind, cls in _WIDGET_CLASSES.items() if isinstance(widget, kind)), "govuk-input")
    if bound_field.errors:
        css += {"govuk-select": " govuk-select--error", "govuk-textarea": " govuk-textarea--error"}.get(
            css, " govuk-input--error" if css == "govuk-input" else ""
        )
    described = []
    if bound_field.help_text:
        described.append(f"{bound_field.auto_id}-hint")
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}-error")
    attrs = {"class": f"{widget.attrs.get('class', '')} {css}".strip()}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return bound_field.as_widget(attrs=attrs)


@register.filter
def is_multiple_choice(bound_field: forms.BoundField) -> bool:
    return isinstance(bound_field.field.widget, forms.CheckboxSelectMultiple)


@register.filter
def is_checkbox(bound_field: forms.BoundField) -> bool:
    return isinstance(bound_field.field.widget, forms.CheckboxInput)


@register.simple_tag(takes_context=True)
def nav_item(context, url_name: str, label: str, prefix: str = "") -> str:
    """A main-navigation link, marked current when the page belongs to its section."""
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return ""
    match = getattr(context.get("request"), "resolver_match", None)
    current = match.view_name if match else ""
    active = current == url_name or bool(prefix and match and (match.url_name or "").startswith(prefix))
    current_attr = format_html(' aria-current="{}"', "page") if active else ""
    return format_html(
        '<li class="accord-nav__item{}"><a class="govuk-link govuk-link--no-visited-state" href="{}"{}>{}</a></li>',
        " accord-nav__item--active" if active else "",
        url,
        current_attr,
        label,
    )


@register.inclusion_tag("includes/mark.html")
def portion_mark(mark) -> dict:
    return {"mark": mark}


@register.filter
def mark_of(marks: dict, document) -> object:
    """The portion mark of `document` from a {pk: Mark} map built by the view."""
    return marks.get(document.pk)


@register.filter
def tier_label(tier, country: str | None) -> str:
    """A tier in the reader's country's words (`CUI` to a US reader), as banners say it."""
    return tier.label_for(country) if tier is not None else ""


@register.filter
def marking_change(entry, country: str | None) -> str:
    """A revision-history entry's marking change, in the viewer's country's words."""
    return entry.marking_change(country)


@register.filter
def score_value(value) -> str:
    """An eval score as people read it: three significant figures, or a dash when the log has
    none (NaN and infinity are stored as no value)."""
    if value is None:
        return "—"
    return f"{value:.3g}"
