"""Celery tasks of the kernel."""

from celery import shared_task

from .idempotency import idempotency_records_purge


@shared_task(name="contrib_budget.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge()
