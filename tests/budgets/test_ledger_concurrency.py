from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from budgets.ledger import InsufficientFunds, account_get_or_create, balance_from_entries, transfer
from budgets.models import Account, AccountKind
from tests.factories import CollectiveFactory
from tests.threads import run_concurrently

THREADS = 30


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parallel_transfers_never_overdraw_a_wallet_and_the_balance_stays_exact():
    collective = CollectiveFactory()
    source = account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="grant",
                                   name="Grant")
    wallet = account_get_or_create(collective=collective, kind=AccountKind.WALLET, code="wallet", name="Wallet")
    budgets = [
        account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code=f"budget-{i}", name=f"B{i}")
        for i in range(3)
    ]
    transfer(collective=collective, source=source, destination=wallet, amount=Decimal("100.00"), kind="funding")

    def spend(index):
        # Destinations differ so the threads also lock rows in varying combinations.
        return transfer(collective=collective, source=wallet, destination=budgets[index % 3],
                        amount=Decimal("10.00"), kind="spend").pk

    results, errors = run_concurrently(spend, THREADS)

    assert len(results) == 10
    assert len(errors) == THREADS - 10
    assert all(isinstance(error, InsufficientFunds) for error in errors), errors
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.00")
    assert balance_from_entries(wallet) == Decimal("0.00")
    assert sum(Account.objects.get(pk=b.pk).balance for b in budgets) == Decimal("100.00")

    running = Decimal(0)
    for amount in wallet.entries.order_by("pk").values_list("amount", flat=True):
        running += amount
        assert running >= 0

    out = StringIO()
    call_command("check_ledger", stdout=out, stderr=StringIO())
    assert "Ledger OK" in out.getvalue()
