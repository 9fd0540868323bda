"""The choices a round's rules are made of (cobudget.models uses them; import them from there)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoundStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class EnvelopePolicy(models.TextChoices):
    EQUAL = "equal", _("the same amount for everyone")
    MANUAL = "manual", _("an amount set per member")
    WEIGHTED = "weighted", _("a total weighted by granted contributions")


class PartialPolicy(models.TextChoices):
    REFUND = "refund", _("refund buckets below their minimum")
    ACCEPT = "accept", _("accept buckets above the threshold")
    REDISTRIBUTE = "redistribute", _("give their money back for a second window, then close")


class LeftoverPolicy(models.TextChoices):
    EXPIRE = "expire", _("expires")
    RETURN_TO_POOL = "return_to_pool", _("returns to the collective's pool")


class RoundMode(models.TextChoices):
    LIVE = "live", _("live: members give from their envelopes")
    EQUAL_SHARES = "equal_shares", _("Equal Shares: members support buckets, the close shares the total")


class MesCompletion(models.TextChoices):
    NONE = "none", _("none (the plain method)")
    ADD_ONE = "add_one", _("raise every share a step at a time (Add1)")
    UTILITARIAN = "utilitarian", _("then the most supported buckets that still fit")


class TieRule(models.TextChoices):
    EARLIEST = "earliest", _("the earliest proposal")
    DRAW = "draw", _("a draw, recorded in the audit log")


class OverallocationMode(models.TextChoices):
    REFUSE = "refuse", _("refuse the allocation")
    CAP_TO_REMAINING = "cap_to_remaining", _("trim it to what is still needed")


class RoundSchedule(models.TextChoices):
    NONE = "none", _("no schedule")
    MONTHLY = "monthly", _("every month")
    QUARTERLY = "quarterly", _("every quarter")
    YEARLY = "yearly", _("every year")
