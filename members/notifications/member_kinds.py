"""The notification kinds of the people's area (invitations, bank details)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.selectors import role_labels

from .kinds import Kind, register


def _invitation_text(params: dict, currency: str) -> str:
    values = {**params, "roles": ", ".join(role_labels(params.get("roles", [])))}
    return _("%(name)s invited you to join %(collective)s as %(roles)s.") % values


register(
    Kind("invitation.received", gettext_lazy("Invitations to a collective"), render=_invitation_text),
    # Told to the person even though they made the change: one they did not make is how a takeover shows.
    Kind("bank_details.changed", gettext_lazy("Changes to my bank details"),
         gettext_lazy("Your bank details in %(collective)s were changed. If you did not change them, change your "
                      "password and tell the coordinators.")),
)
