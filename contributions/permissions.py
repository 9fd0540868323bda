"""The actions of contributions and who may take them (contrib_budget.permissions)."""

from django.utils.translation import gettext_lazy as _

from contrib_budget.permissions import Permission
from members.models import Role

CLOSE_PERIODS = Permission((Role.COORDINATOR,), _("Only coordinators close periods."), "not_coordinator")
