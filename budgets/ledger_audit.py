"""Set-based checks of every ledger invariant; `check_ledger` prints them, beat runs them nightly."""

from decimal import Decimal

from django.core.mail import mail_admins
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from members.models import Collective

from .ledger import ACCOUNTS_ALLOWED_NEGATIVE
from .models import Account, Entry, LedgerTransaction
from .notifications import ledger_violation_notify


def _entries_total():
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


def ledger_violations(collective=None) -> list[str]:
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


def ledger_check_and_alert(*, today) -> dict[int, list[str]]:
    """The nightly check: each collective's broken invariants; its coordinators are told (once a day) and the
    site's administrators emailed. Returns the problems by collective id (empty: all good)."""
    problems = {}
    for collective in Collective.objects.order_by("pk"):
        found = ledger_violations(collective)
        if found:
            problems[collective.pk] = found
            ledger_violation_notify(collective=collective, problems=found, today=today)
    if problems:
        lines = [f"{collective_id}: {problem}" for collective_id, found in problems.items() for problem in found]
        mail_admins(f"Ledger check: {len(lines)} invariant(s) violated", "\n".join(lines))
    return problems
