"""Celery tasks of the cobudget (thin: the services do the work)."""

from celery import shared_task
from django.utils import timezone

from . import services
from .running_totals import running_totals_check_and_alert


@shared_task(name="cobudget.close_due_rounds")
def close_due_rounds() -> list[int]:
    """Close every round whose funding window has ended, and finish any close left halfway."""
    return services.rounds_close_due()


@shared_task(name="cobudget.check_running_totals")
def check_running_totals() -> int:
    """Beat, nightly: every member's running totals against their allocations; a difference alerts."""
    return len(running_totals_check_and_alert(today=timezone.localdate()))


@shared_task(name="cobudget.run_recurring_rounds")
def run_recurring_rounds() -> list[int]:
    """Beat, hourly: every template on a schedule whose next round is due gets it, once however many runs."""
    return services.recurring_rounds_run()
