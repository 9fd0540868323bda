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
# Correcting a grant made in error: reversing an unpaid one, recording what a paid one owes back.
CORRECT_GRANTS = Permission((Role.COORDINATOR,), _("Only coordinators correct a grant."), "not_coordinator")
