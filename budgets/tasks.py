"""Celery tasks of budgets: thin, idempotent, they take ids and call a service."""

import logging

from celery import shared_task
from django.utils import timezone

from .ledger_audit import ledger_check_and_alert

logger = logging.getLogger(__name__)


@shared_task(name="budgets.check_ledger")
def check_ledger() -> int:
    """Beat, nightly: every ledger invariant is checked; a violation alerts coordinators and administrators."""
    return len(ledger_check_and_alert(today=timezone.localdate()))
