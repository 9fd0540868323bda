"""Demo data of the accounting area: La Fabrique's FEC settings, and its oldest settleable closed period paid and
locked by Carol."""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from budgets.models import Payout, Period, PeriodStatus
from budgets.payouts import payouts_mark_paid
from budgets.selectors import payouts_unposted
from members.demo import DemoData

from . import services


def _settleable(period: Period) -> bool:
    """Every grant of the period is posted and none is still owed: paying what is payable settles it."""
    owed = Payout.objects.filter(period=period, paid_on__isnull=True, payable_amount__lt=F("granted"))
    return not owed.exists() and not payouts_unposted(period=period).exists()


def seed(data: DemoData) -> None:
    fabrique, carol = data.collectives["fabrique"], data.people["carol"]
    services.accounting_settings_update(collective=fabrique, actor=carol, siren="834512789",
                                        journal_code="BC", journal_label="Budgets contributifs")
    closed = Period.objects.of(fabrique).filter(status=PeriodStatus.CLOSED).order_by("ends_on", "id")
    oldest_settleable = next((period for period in closed if _settleable(period)), None)
    if oldest_settleable is not None:
        # Carol pays what the period made payable, then locks it: a period is locked only once settled.
        payable = list(Payout.objects.of(fabrique).filter(
            period=oldest_settleable, paid_on__isnull=True, granted__gt=0,
        ).values_list("pk", flat=True))
        if payable:
            payouts_mark_paid(collective=fabrique, payout_ids=payable, actor=carol, reference="VIR-DEMO-1",
                              paid_on=min(oldest_settleable.ends_on + timedelta(days=7), timezone.localdate()))
        services.period_lock(period=oldest_settleable, actor=carol)
