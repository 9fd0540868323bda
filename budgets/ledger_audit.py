"""Set-based checks of every ledger invariant; `check_ledger` prints them, beat runs them nightly."""

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.core.mail import mail_admins
from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from members.models import Collective

from .ledger import ACCOUNTS_ALLOWED_NEGATIVE
from .models import NET_AMOUNT, Account, AccountKind, Budget, Entry, LedgerTransaction, Payout, Period
from .notifications import ledger_violation_notify
from .selectors import sum_of


def _entries_total() -> Coalesce:
    return Coalesce(
        Subquery(
            Entry.objects.filter(account=OuterRef("pk"))
            .values("account")
            .annotate(total=Sum("amount"))
            .values("total")
        ),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


def ledger_violations(collective: Collective | None = None) -> list[str]:
    """Every broken invariant of the ledger, as readable lines (empty: all good)."""
    transactions = LedgerTransaction.objects.all()
    accounts = Account.objects.all()
    if collective is not None:
        transactions = transactions.of(collective)
        accounts = accounts.of(collective)
    problems = []
    unbalanced = transactions.annotate(
        total=Coalesce(Sum("entries__amount"), Value(Decimal("0"))), legs=Count("entries")
    ).filter(~Q(total=0) | Q(legs__lt=2))
    for txn in unbalanced:
        problems.append(f"transaction #{txn.pk} has {txn.legs} entries summing to {txn.total}")
    with_totals = accounts.annotate(entries_total=_entries_total())
    for account in with_totals.exclude(balance=F("entries_total")):
        problems.append(
            f"account {account.code} ({account.collective_id}) caches {account.balance}"
            f" but its entries sum to {account.entries_total}"
        )
    # The kind decides where a negative balance is allowed; the per-account flag cannot widen it.
    may_be_negative = Q(allow_negative=True, kind__in=ACCOUNTS_ALLOWED_NEGATIVE)
    for account in with_totals.filter(~may_be_negative, entries_total__lt=0):
        problems.append(f"account {account.code} ({account.collective_id}) is negative: {account.entries_total}")
    return problems


def books_violations(collective: Collective | None = None) -> list[str]:
    """The ledger's invariants and the payouts' figures against it."""
    return ledger_violations(collective) + payout_violations(collective)


def _posted_payouts(collective: Collective | None) -> QuerySet[Payout]:
    payouts = Payout.objects.filter(grant_transaction__isnull=False)
    return payouts.of(collective) if collective is not None else payouts


def payout_violations(collective: Collective | None = None) -> list[str]:
    """The payouts' own figures (`granted`, `payable_amount`, paid or not) against the ledger, the only truth:
    each posted grant and each payment moves exactly the payout's amount, and per person what the posted
    payouts hold as owed, payable and paid equals what the person's accounts hold; and each budget's granted
    total against its payouts."""
    problems = []
    payouts = _posted_payouts(collective)
    granted = Sum("grant_transaction__entries__amount", filter=Q(grant_transaction__entries__amount__gt=0))
    # A reversed grant keeps its first amount in `reversed_amount` (its `granted` is zero).
    for payout in payouts.annotate(moved=granted).exclude(moved=F("granted") + F("reversed_amount")):
        problems.append(f"payout #{payout.pk} granted {payout.granted + payout.reversed_amount} but its grant "
                        f"moved {payout.moved}")
    reversed_ = Sum("reversal_transaction__entries__amount", filter=Q(reversal_transaction__entries__amount__gt=0))
    for payout in payouts.filter(reversal_transaction__isnull=False).annotate(moved=reversed_).exclude(
            moved=F("reversed_amount")):
        problems.append(f"payout #{payout.pk} reversed {payout.reversed_amount} but its reversal moved {payout.moved}")
    paid = Sum("payment_transaction__entries__amount", filter=Q(payment_transaction__entries__amount__gt=0))
    for payout in payouts.filter(paid_on__isnull=False).alias(net=NET_AMOUNT).filter(net__gt=0).annotate(
            moved=paid).exclude(moved=NET_AMOUNT):
        problems.append(f"payout #{payout.pk} paid {payout.net_amount} but its payment moved {payout.moved}")
    expected = defaultdict(Decimal)
    # What a payment withheld left the person's payable account when the correction it repaid was recovered.
    held = payouts.values("collective_id", "person_id").annotate(
        owed=Sum(F("granted") - F("payable_amount"), filter=Q(paid_on__isnull=True)),
        payable=Sum(F("payable_amount") - F("withheld"), filter=Q(paid_on__isnull=True)),
        paid=Sum(NET_AMOUNT, filter=Q(paid_on__isnull=False)))
    for row in held:
        for state in ("owed", "payable", "paid"):
            expected[(row["collective_id"], f"{state}:{row['person_id']}")] = row[state] or Decimal("0")
    accounts = Account.objects.filter(kind__in=[AccountKind.PAYABLE, AccountKind.PAID])
    accounts = accounts.of(collective) if collective is not None else accounts
    for account in accounts.annotate(entries_total=_entries_total()).order_by("collective_id", "code"):
        figure = expected.pop((account.collective_id, account.code), Decimal("0"))
        if figure != account.entries_total:
            problems.append(f"account {account.code} ({account.collective_id}) holds {account.entries_total}"
                            f" but the posted payouts say {figure}")
    problems += [f"account {code} ({collective_id}) is missing; the posted payouts say {figure}"
                 for (collective_id, code), figure in expected.items() if figure]
    return problems + granted_total_violations(collective)


def granted_total_violations(collective: Collective | None = None) -> list[str]:
    """Each budget's and each period's granted total, kept by triggers (migrations 0014 and 0016), against their
    payouts' grants."""
    problems = []
    for model, payouts_of in ((Budget, "period__budget"), (Period, "period")):
        rows = model.objects.all() if collective is None else model.objects.of(collective)
        grants = Payout.objects.filter(**{payouts_of: OuterRef("pk")}).order_by().values(payouts_of)
        problems += [f"{model._meta.model_name} #{row.pk} keeps {row.granted_total} as granted but its payouts grant"
                     f" {row.summed}"
                     for row in rows.annotate(summed=sum_of(grants, "granted")).exclude(granted_total=F("summed"))
                     .order_by("pk")]
    return problems


def ledger_check_and_alert(*, today: date) -> dict[int, list[str]]:
    """The nightly check of the books."""
    return collectives_check_and_alert(check=books_violations, today=today,
                                       subject="Ledger check: {count} invariant(s) violated")


def collectives_check_and_alert(*, check: Callable[[Collective], list[str]], today: date,
                                subject: str) -> dict[int, list[str]]:
    """A nightly check: each collective's broken invariants, as `check` finds them; its coordinators are told (once
    a day) and the site's administrators emailed (`subject` counts them). Returns the problems by collective id
    (empty: all good)."""
    problems = {}
    for collective in Collective.objects.order_by("pk"):
        found = check(collective)
        if found:
            problems[collective.pk] = found
            ledger_violation_notify(collective=collective, problems=found, today=today)
    if problems:
        lines = [f"{collective_id}: {problem}" for collective_id, found in problems.items() for problem in found]
        mail_admins(subject.format(count=len(lines)), "\n".join(lines))
    return problems
