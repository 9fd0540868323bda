from django import template
from django.utils.safestring import mark_safe

from members.audit_labels import audit_action_label
from members.bank import mask_iban
from members.selectors import role_labels as _role_labels

register = template.Library()


@register.filter
def role_labels(roles) -> str:
    """["coordinator", "member"] -> "coordinator, member" in the active language."""
    return ", ".join(_role_labels(roles or []))


@register.filter
def masked_iban(iban: str) -> str:
    """"FR76 •••• 0189": how coordinators and accountants see a person's IBAN."""
    return mask_iban(iban or "")


@register.filter
def audit_action(action: str) -> str:
    return audit_action_label(action)


@register.simple_tag(takes_context=True)
def aria_current(context, url: str, exact: bool = False, unless: str = "") -> str:
    """` aria-current="page"` on the menu link of the section the reader is in: the page at `url` and, unless
    `exact`, the pages under it (except those under `unless`, a sub-section with a link of its own)."""
    path = context["request"].path
    inside = path == url if exact else path.startswith(url) and not (unless and path.startswith(unless))
    return mark_safe(' aria-current="page"') if inside else ""
