"""Celery tasks of the cobudget (thin: the services do the work)."""

from celery import shared_task

from . import services


@shared_task(name="cobudget.close_due_rounds")
def close_due_rounds() -> list[int]:
    """Close every round whose funding window has ended, and finish any close left halfway."""
    return services.rounds_close_due()
