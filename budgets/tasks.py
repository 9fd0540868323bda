"""Celery tasks of budgets: thin, idempotent, they take ids and call a service."""

import logging

from celery import shared_task
from django.db.models import DateField, ExpressionWrapper, F
from django.utils import timezone

from contrib_budget.errors import DomainError

from .closing import period_close
from .ledger_audit import ledger_check_and_alert
from .models import Period, PeriodStatus
from .selectors import payouts_unposted_anywhere

logger = logging.getLogger(__name__)


def periods_interrupted() -> list[Period]:
    """Closed periods whose grants are not all posted yet: a closing a crash interrupted."""
    return list(Period.objects.filter(pk__in=payouts_unposted_anywhere().values("period_id")).select_related("budget"))


def periods_due(today) -> list[Period]:
    """Open periods whose budget closes them automatically and whose delay has passed, in order;
    and closed periods whose grants are not all posted yet (a closing to resume)."""
    due_on = ExpressionWrapper(F("ends_on") + F("budget__auto_close_after_days") * timezone.timedelta(days=1),
                               output_field=DateField())
    open_due = (Period.objects.filter(status=PeriodStatus.OPEN, budget__auto_close_after_days__isnull=False)
                .alias(due_on=due_on).filter(due_on__lt=today).select_related("budget")
                .order_by("budget_id", "index"))
    return [*periods_interrupted(), *open_due]


@shared_task(name="budgets.close_due_periods")
def close_due_periods() -> int:
    """Close every period due for automatic closing, and finish the closings a crash interrupted (grants not all
    posted, or a settling that never committed). Beat runs it every minute, so a crash costs a minute, not an
    hour; a second run is a no-op."""
    closed = 0
    blocked_budgets = set()
    for period in periods_due(timezone.localdate()):
        if period.budget_id in blocked_budgets:
            continue
        try:
            result = period_close(period=period, actor=None)
        except DomainError as error:
            logger.warning("budgets: period %s not closed automatically: %s", period.pk, error.message)
            blocked_budgets.add(period.budget_id)
            continue
        if result.status != PeriodStatus.CLOSED:
            blocked_budgets.add(period.budget_id)
        closed += 1
    return closed


@shared_task(name="budgets.check_ledger")
def check_ledger() -> int:
    """Beat, nightly: every ledger invariant is checked; a violation alerts coordinators and administrators."""
    return len(ledger_check_and_alert(today=timezone.localdate()))
