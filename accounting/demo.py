"""Demo data of the accounting area: La Fabrique's FEC settings, its bank account and its people's bank details,
and its oldest settleable closed period paid (by a SEPA batch the bank statement settles, and by hand for the
person without bank details) and locked by Carol."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from budgets.batches import batch_create, batch_mark_sent, batch_reference
from budgets.models import Payout, Period, PeriodStatus
from budgets.payouts import payouts_mark_paid
from budgets.selectors import PAYABLE, payouts_unposted
from contrib_budget.money import ZERO
from members.bank import bank_details_set, collective_bank_account_set
from members.demo import DemoData

from . import services
from .bank import payouts_mark_paid_from_bank


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
        paid_on = min(oldest_settleable.ends_on + timedelta(days=7), timezone.localdate())
        _paid_by_sepa(data, period=oldest_settleable, paid_on=paid_on)
        payable = list(Payout.objects.of(fabrique).filter(
            period=oldest_settleable, paid_on__isnull=True, granted__gt=0,
        ).values_list("pk", flat=True))
        if payable:
            payouts_mark_paid(collective=fabrique, payout_ids=payable, actor=carol, reference="VIR-DEMO-1",
                              paid_on=paid_on)
        services.period_lock(period=oldest_settleable, actor=carol)


# Test IBANs with valid checksums (the banks' published examples).
DEMO_IBANS = ["FR76 3000 6000 0112 3456 7890 189", "DE89 3704 0044 0532 0130 00", "BE68 5390 0754 7034"]


def _paid_by_sepa(data: DemoData, *, period: Period, paid_on: date) -> None:
    """La Fabrique's own account and the bank details of the people the period pays (all but one, whom the batch
    lists as left out); Carol sends their payouts in a SEPA file, and the bank statement marks them paid."""
    fabrique, carol = data.collectives["fabrique"], data.people["carol"]
    collective_bank_account_set(collective=fabrique, actor=data.people["alice"], bank_holder="La Fabrique",
                                bank_iban="FR1420041010050500013M02606", bank_bic="")
    fabrique.refresh_from_db()
    payable = list(Payout.objects.of(fabrique).filter(PAYABLE, period=period).select_related("person")
                   .order_by("person_id", "id"))
    people = list({payout.person_id: payout.person for payout in payable}.values())[:-1]
    if not people:
        return
    for index, someone in enumerate(people):
        bank_details_set(collective=fabrique, person=someone, actor=someone, method="transfer",
                         iban=DEMO_IBANS[index % len(DEMO_IBANS)], holder=someone.display_name)
    batch = batch_create(collective=fabrique, actor=carol, payout_ids=[p.pk for p in payable], method="sepa")
    batch_mark_sent(batch=batch, actor=carol)
    lines = []
    for someone in people:
        total = sum((Decimal(line["amount"]) for line in batch.lines if line["person"] == someone.pk), ZERO)
        lines.append(f"{paid_on.isoformat()};-{total};VIR SEPA {batch_reference(batch.pk, someone.pk)}\n")
    payouts_mark_paid_from_bank(collective=fabrique, actor=carol, text="Date;Montant;Libellé\n" + "".join(lines))
