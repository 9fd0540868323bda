"""Celery tasks of contributions: thin, idempotent, they call a service."""

from celery import shared_task
from django.utils import timezone

from . import closing
from .demand import demand_totals_check_and_alert


# The name is what the beat schedule and queued messages carry: it stays as it was when budgets held the task.
@shared_task(name="budgets.close_due_periods")
def close_due_periods() -> int:
    """Close every period due for automatic closing, and finish the closings a crash interrupted (grants not all
    posted, or a settling that never committed). Beat runs it every minute, so a crash costs a minute, not an
    hour; a second run is a no-op."""
    return closing.periods_close_due(today=timezone.localdate())


@shared_task(name="contributions.check_demand_totals")
def check_demand_totals() -> int:
    """Beat, nightly: what each period keeps as asked of it against its declarations; a difference alerts."""
    return len(demand_totals_check_and_alert(today=timezone.localdate()))
