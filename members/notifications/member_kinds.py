"""The notification kinds of the people's area."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.selectors import role_labels

from .kinds import Kind, register


def _invitation_text(params: dict, currency: str) -> str:
    values = {**params, "roles": ", ".join(role_labels(params.get("roles", [])))}
    return _("%(name)s invited you to join %(collective)s as %(roles)s.") % values


register(
    Kind("invitation.received", gettext_lazy("Invitations to a collective"), render=_invitation_text),
)
