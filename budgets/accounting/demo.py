"""Demo data of the accounting area: La Fabrique's FEC settings, and its oldest closed period paid and locked by Carol."""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from budgets.models import Period, PeriodStatus
from budgets.payouts import payouts_mark_paid
from contributions.models import Payout
from members.demo import DemoData

from . import services


def seed(data: DemoData) -> None:
    fabrique, carol = data.collectives["fabrique"], data.people["carol"]
    services.accounting_settings_update(collective=fabrique, actor=carol, siren="834512789",
                                        journal_code="BC", journal_label="Budgets contributifs")
    oldest_closed = Period.objects.of(fabrique).filter(status=PeriodStatus.CLOSED).order_by("ends_on", "id").first()
    if oldest_closed is not None:
        # Carol pays what the period made payable, then locks it: nothing is left unpaid behind the lock.
        payable = list(Payout.objects.of(fabrique).filter(
            period=oldest_closed, paid_on__isnull=True, granted__gt=0, payable_amount=F("granted"),
        ).values_list("pk", flat=True))
        if payable:
            payouts_mark_paid(collective=fabrique, payout_ids=payable, actor=carol, reference="VIR-DEMO-1",
                              paid_on=min(oldest_closed.ends_on + timedelta(days=7), timezone.localdate()))
        services.period_lock(period=oldest_closed, actor=carol)
