"""The actions of members and who may take them (contrib_budget.permissions)."""

from django.utils.translation import gettext_lazy as _

from contrib_budget.permissions import Permission

from .models import Role

MANAGE_COLLECTIVE = Permission((Role.COORDINATOR,), _("Only coordinators change the collective's settings."),
                               "not_coordinator")
# Inviting people, revoking invitations, giving roles, removing someone (a person may always leave).
MANAGE_MEMBERS = Permission((Role.COORDINATOR,), _("Only coordinators can manage other members."))
# Bank details: each person records their own; coordinators and accountants read them masked, to pay people.
SET_OWN_BANK_DETAILS = Permission(tuple(Role.values), _("Only members of the collective record bank details in it."))
READ_BANK_DETAILS = Permission((Role.COORDINATOR, Role.ACCOUNTANT),
                               _("Only coordinators and accountants see the members' bank details."),
                               "not_coordinator_or_accountant")
