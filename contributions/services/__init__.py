"""Every write about declarations and their open regulation.

Declaring, amending, withdrawing, questioning, validating (one or several at
once), adjusting and rejecting each check the state first (role, author,
status, period), raise a DomainError that names the faulty fields, write in
one transaction with the period and the declaration locked, and leave an audit
event the declaration page shows.
"""

from ._common import AMENDABLE, DECIDABLE, MAX_MINUTES
from .declaring import Declaration, contribution_amend, contribution_declare, contribution_withdraw
from .review import (
    MAX_BATCH,
    BatchOutcome,
    BatchResult,
    contribution_adjust,
    contribution_question,
    contribution_reject,
    contribution_validate,
    contributions_validate,
)

__all__ = [
    "AMENDABLE", "DECIDABLE", "MAX_BATCH", "MAX_MINUTES", "BatchOutcome", "BatchResult", "Declaration",
    "contribution_adjust", "contribution_amend", "contribution_declare", "contribution_question",
    "contribution_reject", "contribution_validate", "contribution_withdraw", "contributions_validate",
]
