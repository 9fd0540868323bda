"""Locked periods: once an accountant locks a closed, settled period (every grant posted, every payout
paid: see `accounting.services.period_lock`), no change may touch it.

Every service that writes something belonging to a period (its closing, its
declarations, their payouts) calls `ensure_period_unlocked(period)` inside its
transaction. There the period row is read FOR SHARE, so a lock being taken at
the same moment waits for the write (or the write waits for the lock and is
then refused): no change slips past a lock.
"""

from django.db import connection, transaction
from django.utils.translation import gettext as _

from contrib_budget.errors import Conflict


class PeriodLocked(Conflict):
    default_code = "period_locked"


def ensure_period_unlocked(period) -> None:
    """Raise PeriodLocked if `period` (a Period or its id) is locked; a correction goes to an open period."""
    period_id = getattr(period, "pk", period)
    share = " FOR SHARE" if transaction.get_connection().in_atomic_block else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT locked_at FROM budgets_period WHERE id = %s{share}", [period_id])
        row = cursor.fetchone()
    if row:
        refuse_if_locked(locked_at=row[0])


def refuse_if_locked(*, locked_at) -> None:
    """Raise PeriodLocked for a period row already read FOR UPDATE (or FOR SHARE) whose `locked_at` is set."""
    if locked_at is not None:
        raise PeriodLocked(
            _("This period is locked by the accountant: record a correction in an open period instead.")
        )
