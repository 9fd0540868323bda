"""The actions of the accounting area and who may take them (contrib_budget.permissions)."""

from django.utils.translation import gettext_lazy as _

from budgets.permissions import MANAGE_BUDGETS
from contrib_budget.permissions import Permission
from members.models import Role

# Exports, the chart of accounts, the settings, documents, the bank statement.
KEEP_BOOKS = Permission((Role.ACCOUNTANT, Role.COORDINATOR), _("Only accountants and coordinators may do this."))
# Locking a settled period seals it, and a bank statement marks payouts paid: the accountant's acts alone.
ACCOUNTANT_ONLY = Permission((Role.ACCOUNTANT,), _("Only accountants may do this."), "not_accountant")
# Importing the money that arrives receives and creates fundings: whoever may do that in budgets may import.
IMPORT_FUNDINGS = MANAGE_BUDGETS
