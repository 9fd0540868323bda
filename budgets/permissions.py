"""The actions of budgets and who may take them (contrib_budget.permissions)."""

from django.utils.translation import gettext_lazy as _

from contrib_budget.permissions import Permission
from members.models import Role

# Budgets, their rate grid, envelopes, tasks and money coming in.
MANAGE_BUDGETS = Permission((Role.COORDINATOR,), _("Only coordinators set up budgets and their money."),
                            "not_coordinator")
CANCEL_FUNDINGS = Permission((Role.COORDINATOR,), _("Only a coordinator can cancel a funding."))
# Paying the payouts closings granted.
PAY_PAYOUTS = Permission((Role.ACCOUNTANT, Role.COORDINATOR), _("Only accountants and coordinators mark payouts paid."),
                         "not_payer")
