"""The collective's home: panels that each app contributes, for the reader's roles.

members is the lowest layer and knows nothing of budgets or rounds: an app registers its panels from its
`dashboard` module, imported when the app is ready, as it registers its notification kinds. A panel is a
template and a function of (collective, membership) that returns the template's context, or None when the panel
has nothing to say to this reader (a role they lack, no open round). Each function runs a fixed number of
queries whatever the number of budgets, periods or rounds (tests/members/test_dashboard.py counts them).

members' own panels are here: what waits for me in this collective, and recent activity.
"""

from collections.abc import Callable
from dataclasses import dataclass

from contrib_budget.prepared import Prepared

from .audit import audit_readable, audit_redacted
from .models import AuditEvent, Collective, Membership, Role
from .notifications.selectors import inbox, text_of
from .selectors import newest_first, waiting_items

PanelContext = Callable[[Collective, Membership], dict | None]


@dataclass(frozen=True)
class Panel:
    code: str
    # Panels show in this order; the wide ones take the whole width of a large screen.
    order: int
    template: str
    context: PanelContext
    wide: bool = False

    @property
    def html_id(self) -> str:
        return "panel-" + self.code.replace(".", "-")


@dataclass(frozen=True)
class ShownPanel:
    panel: Panel
    data: dict


_panels: dict[str, Panel] = {}


def register(*panels: Panel) -> None:
    for panel in panels:
        _panels[panel.code] = panel


def panels_for(collective: Collective, membership: Membership) -> list[ShownPanel]:
    """The panels that have something for this reader, in order, with their context."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda panel: (panel.order, panel.code)):
        data = panel.context(collective, membership)
        if data is not None:
            shown.append(ShownPanel(panel, data))
    return shown


# ---------------------------------------------------------------------------------------------------------------
# members' panels

RECENT = 6


def _waiting(collective: Collective, membership: Membership) -> dict:
    return {"items": waiting_items(membership.user, collective=collective)}


# Prepared (contrib_budget.prepared), as the other panels' queries: compiling them cost more than running them.
_RECENT_NOTIFICATIONS = Prepared(lambda collective_id, user_id: (
    inbox(user_id).filter(collective_id=collective_id)[:RECENT]))
_RECENT_EVENTS = Prepared(lambda collective_id: (
    newest_first(AuditEvent.objects.filter(collective_id=collective_id))[:RECENT]))


def _activity(collective: Collective, membership: Membership) -> dict | None:
    """What the reader was told here lately; coordinators also see the latest changes of the audit log."""
    notifications = _RECENT_NOTIFICATIONS.rows(collective_id=collective.pk, user_id=membership.user_id)
    for notification in notifications:
        notification.text = text_of(notification)
    events = (audit_readable(collective, audit_redacted(_RECENT_EVENTS.rows(collective_id=collective.pk)))
              if membership.has_role(Role.COORDINATOR) else [])
    if not notifications and not events:
        return None
    return {"notifications": notifications, "events": events}


register(
    Panel("members.waiting", 10, "members/dashboard/_waiting.html", _waiting, wide=True),
    Panel("members.activity", 90, "members/dashboard/_activity.html", _activity),
)

