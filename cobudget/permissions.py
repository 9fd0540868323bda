"""The actions of the cobudget and who may take them (contrib_budget.permissions). Buckets are also open to
their carriers, and allocations to the round's participants: those rules are the services' own."""

from django.utils.translation import gettext_lazy as _

from contrib_budget.permissions import Permission
from members.models import Role

MANAGE_ROUNDS = Permission((Role.COORDINATOR,), _("Only coordinators set up, open and close rounds."),
                           "not_coordinator")
APPROVE_BUCKETS = Permission((Role.COORDINATOR,), _("Only coordinators approve buckets."), "not_coordinator")
HAND_OVER_BUCKETS = Permission((Role.COORDINATOR,), _("Only coordinators turn a bucket into an envelope."),
                               "not_coordinator")
RESOLVE_FLAGS = Permission((Role.COORDINATOR,), _("Only coordinators resolve flags."), "not_coordinator")
