"""What only the database's owner role can do: tests that need the books broken on purpose break them this way."""

from decimal import Decimal

from django.db import connection, transaction

from budgets.models import Account
from contrib_budget.db_roles import connected_as_owner

BALANCE_GUARD = "account_balance_follows_entries"  # budgets migration 0007


def corrupt_balance(account: Account, balance: Decimal) -> None:
    """Set a cached balance out of line with its entries. The tests connect as the application's role, whose
    UPDATE the trigger refuses, and which may not switch a trigger off: only the owner may (ALTER TABLE … DISABLE
    TRIGGER, here for its own transaction), as a bad restore or a manual fix by a database administrator could.
    The owner connects apart, so the test must be transactional (its data committed)."""
    with connected_as_owner(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE budgets_account DISABLE TRIGGER {BALANCE_GUARD}")
        cursor.execute("UPDATE budgets_account SET balance = %s WHERE id = %s", [balance, account.pk])
        cursor.execute(f"ALTER TABLE budgets_account ENABLE TRIGGER {BALANCE_GUARD}")
