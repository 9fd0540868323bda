from django import template

from members.selectors import audit_action_label
from members.selectors import role_labels as _role_labels

register = template.Library()


@register.filter
def role_labels(roles) -> str:
    """["coordinator", "member"] -> "coordinator, member" in the active language."""
    return ", ".join(_role_labels(roles or []))


@register.filter
def audit_action(action: str) -> str:
    return audit_action_label(action)


@register.filter
def audit_values(value) -> list[tuple[str, object]]:
    """An audit before/after snapshot as (field, value) pairs, lists joined."""
    if value is None:
        return []
    items = value.items() if isinstance(value, dict) else [("", value)]
    return [(key, ", ".join(map(str, v)) if isinstance(v, list) else v) for key, v in items]
