from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from budgets.ledger import (
    InsufficientFunds,
    account_get_or_create,
    balance_from_entries,
    transaction_post,
    transaction_reverse,
    transfer,
)
from budgets.models import Account, AccountKind, Entry, LedgerTransaction
from contrib_budget.db_roles import connected_as_owner
from contrib_budget.errors import DomainError
from tests.db_owner import corrupt_balance
from tests.factories import CollectiveFactory
from tests.threads import run_concurrently


def _accounts(collective):
    return {
        "source": account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE,
                                        code="grant", name="City grant"),
        "budget": account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code="budget",
                                        name="Budget 2026"),
        "wallet": account_get_or_create(collective=collective, kind=AccountKind.WALLET, code="wallet-bob",
                                        name="Bob's wallet"),
    }


@pytest.fixture
def accounts(collective):
    return _accounts(collective)


def _balances(*accounts):
    return [Account.objects.get(pk=account.pk).balance for account in accounts]


def _fund(collective, accounts, amount="100.00"):
    return transfer(collective=collective, source=accounts["source"], destination=accounts["wallet"],
                    amount=Decimal(amount), kind="funding")


def test_a_balanced_transaction_updates_the_cached_balances(collective, accounts, coordinator):
    txn = transaction_post(
        collective=collective, kind="funding", memo="Grant received", actor=coordinator,
        legs=[(accounts["source"], Decimal("-500.00")), (accounts["budget"], Decimal("300.00")),
              (accounts["wallet"], Decimal("200.00"))],
    )
    assert _balances(accounts["source"], accounts["budget"], accounts["wallet"]) == [
        Decimal("-500.00"), Decimal("300.00"), Decimal("200.00")
    ]
    assert sorted(txn.entries.values_list("amount", flat=True)) == [
        Decimal("-500.00"), Decimal("200.00"), Decimal("300.00")
    ]
    assert txn.actor == coordinator and txn.memo == "Grant received"
    for account in accounts.values():
        assert balance_from_entries(account) == Account.objects.get(pk=account.pk).balance


def test_new_accounts_take_the_collective_currency_and_only_outside_kinds_may_go_negative(accounts):
    assert {account.currency for account in accounts.values()} == {"EUR"}
    assert accounts["source"].allow_negative
    assert not accounts["budget"].allow_negative and not accounts["wallet"].allow_negative


def _other_collective_account(collective, accounts):
    other = CollectiveFactory(slug="elsewhere")
    return account_get_or_create(collective=other, kind=AccountKind.BUDGET, code="budget", name="Theirs")


def _foreign_currency_account(collective, accounts):
    return Account.objects.create(collective=collective, kind=AccountKind.BUDGET, code="usd", name="Dollars",
                                  currency="USD")


REFUSED = {
    "unbalanced": (lambda c, a: [(a["source"], Decimal("-10.00")), (a["budget"], Decimal("9.99"))], "unbalanced"),
    "single_leg": (lambda c, a: [(a["budget"], Decimal("10.00"))], "unbalanced"),
    "no_leg": (lambda c, a: [], "unbalanced"),
    "zero": (lambda c, a: [(a["source"], Decimal("0.00")), (a["budget"], Decimal("0.00"))], "unbalanced"),
    "three_decimals": (lambda c, a: [(a["source"], Decimal("-10.005")), (a["budget"], Decimal("10.005"))],
                       "amount_precision"),
    "float": (lambda c, a: [(a["source"], -10.5), (a["budget"], 10.5)], "amount_precision"),
    "nan": (lambda c, a: [(a["source"], Decimal("NaN")), (a["budget"], Decimal("NaN"))], "amount_precision"),
    "cross_collective": (lambda c, a: [(a["source"], Decimal("-10.00")),
                                       (_other_collective_account(c, a), Decimal("10.00"))], "cross_collective"),
    "cross_currency": (lambda c, a: [(a["source"], Decimal("-10.00")),
                                     (_foreign_currency_account(c, a), Decimal("10.00"))], "currency_mismatch"),
    "overdraft": (lambda c, a: [(a["wallet"], Decimal("-0.01")), (a["budget"], Decimal("0.01"))],
                  "insufficient_funds"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_an_invalid_posting_is_refused_and_nothing_is_written(collective, accounts, case):
    make_legs, code = REFUSED[case]
    legs = make_legs(collective, accounts)
    balances_before = list(Account.objects.order_by("pk").values_list("pk", "balance"))
    with pytest.raises(DomainError) as refused:
        transaction_post(collective=collective, kind="test", legs=legs)
    assert refused.value.code == code
    assert LedgerTransaction.objects.count() == 0
    assert Entry.objects.count() == 0
    assert list(Account.objects.order_by("pk").values_list("pk", "balance")) == balances_before


def test_an_overdraft_in_the_middle_of_a_transaction_rolls_back_every_leg(collective, accounts):
    _fund(collective, accounts, "5.00")
    with pytest.raises(InsufficientFunds):
        transaction_post(collective=collective, kind="spend", legs=[
            (accounts["source"], Decimal("-1.00")), (accounts["wallet"], Decimal("-6.00")),
            (accounts["budget"], Decimal("7.00")),
        ])
    assert _balances(accounts["source"], accounts["wallet"], accounts["budget"]) == [
        Decimal("-5.00"), Decimal("5.00"), Decimal("0.00")
    ]
    assert LedgerTransaction.objects.count() == 1


def test_a_refused_posting_writes_nothing_and_its_callers_transaction_goes_on(collective, accounts):
    # No savepoint is taken: the refusal must leave nothing to roll back.
    with transaction.atomic():
        _fund(collective, accounts, "5.00")
        with pytest.raises(InsufficientFunds):
            transfer(collective=collective, source=accounts["wallet"], destination=accounts["budget"],
                     amount=Decimal("6.00"), kind="spend")
        transfer(collective=collective, source=accounts["wallet"], destination=accounts["budget"],
                 amount=Decimal("5.00"), kind="spend")
    assert _balances(accounts["wallet"], accounts["budget"]) == [Decimal("0.00"), Decimal("5.00")]
    assert LedgerTransaction.objects.count() == 2
    assert balance_from_entries(accounts["budget"]) == Decimal("5.00")


def test_an_idempotency_key_posts_once(collective, accounts):
    first = transfer(collective=collective, source=accounts["source"], destination=accounts["budget"],
                     amount=Decimal("42.00"), kind="funding", idempotency_key="funding:1")
    second = transfer(collective=collective, source=accounts["source"], destination=accounts["budget"],
                      amount=Decimal("42.00"), kind="funding", idempotency_key="funding:1")
    assert first.pk == second.pk
    assert LedgerTransaction.objects.count() == 1
    assert _balances(accounts["budget"]) == [Decimal("42.00")]


def test_the_same_idempotency_key_in_another_collective_is_another_transaction(collective, accounts):
    other = CollectiveFactory(slug="elsewhere")
    theirs = _accounts(other)
    mine = transfer(collective=collective, source=accounts["source"], destination=accounts["budget"],
                    amount=Decimal("1.00"), kind="funding", idempotency_key="funding:1")
    their = transfer(collective=other, source=theirs["source"], destination=theirs["budget"],
                     amount=Decimal("1.00"), kind="funding", idempotency_key="funding:1")
    assert mine.pk != their.pk


@pytest.mark.django_db(transaction=True)
def test_an_idempotency_key_posts_once_when_two_threads_post_together():
    collective = CollectiveFactory()
    accounts = _accounts(collective)

    def post(_index):
        return transfer(collective=collective, source=accounts["source"], destination=accounts["budget"],
                        amount=Decimal("42.00"), kind="funding", idempotency_key="closing:2026-01").pk

    results, errors = run_concurrently(post, 2)
    assert errors == []
    assert len(results) == 2 and len(set(results)) == 1
    assert LedgerTransaction.objects.count() == 1
    assert _balances(accounts["budget"]) == [Decimal("42.00")]
    assert balance_from_entries(accounts["budget"]) == Decimal("42.00")


def test_a_reversal_posts_the_mirror_and_a_second_reversal_is_refused(collective, accounts, coordinator):
    original = _fund(collective, accounts, "30.00")
    reversal = transaction_reverse(txn=original, actor=coordinator)
    assert reversal.reverses == original
    assert reversal.kind == "funding_reversal"
    mirror = {(e.account_id, -e.amount) for e in original.entries.all()}
    assert {(e.account_id, e.amount) for e in reversal.entries.all()} == mirror
    assert _balances(accounts["source"], accounts["wallet"]) == [Decimal("0.00"), Decimal("0.00")]
    assert original.entries.count() == 2  # the original stays

    with pytest.raises(DomainError) as refused:
        transaction_reverse(txn=original, actor=coordinator)
    assert refused.value.code == "already_reversed"
    assert LedgerTransaction.objects.count() == 2


def test_a_reversal_cannot_overdraw_money_already_spent(collective, accounts):
    original = _fund(collective, accounts, "30.00")
    transfer(collective=collective, source=accounts["wallet"], destination=accounts["budget"],
             amount=Decimal("20.00"), kind="spend")
    with pytest.raises(InsufficientFunds):
        transaction_reverse(txn=original)
    assert LedgerTransaction.objects.filter(reverses=original).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_keyed_posting_repeated_while_the_first_empties_the_account_is_the_first_not_a_refusal():
    collective = CollectiveFactory()
    accounts = _accounts(collective)
    _fund(collective, accounts, "30.00")

    def spend(_index):
        return transfer(collective=collective, source=accounts["wallet"], destination=accounts["budget"],
                        amount=Decimal("30.00"), kind="spend", idempotency_key="spend:all").pk

    results, errors = run_concurrently(spend, 4)
    assert errors == []
    assert len(results) == 4 and len(set(results)) == 1
    assert _balances(accounts["wallet"], accounts["budget"]) == [Decimal("0.00"), Decimal("30.00")]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_reversals_post_one_mirror():
    collective = CollectiveFactory()
    accounts = _accounts(collective)
    original = _fund(collective, accounts, "30.00")

    results, errors = run_concurrently(lambda _i: transaction_reverse(txn=original).pk, 2)
    assert len(results) == 1
    assert [getattr(error, "code", error) for error in errors] == ["already_reversed"]
    assert _balances(accounts["wallet"]) == [Decimal("0.00")]


def _raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE budgets_entry SET amount = amount * 2 WHERE transaction_id = %s",
        "DELETE FROM budgets_entry WHERE transaction_id = %s",
        "UPDATE budgets_ledgertransaction SET memo = 'rewritten' WHERE id = %s",
        "DELETE FROM budgets_ledgertransaction WHERE id = %s",
    ],
)
@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_update_or_delete_posted_ledger_rows_even_for_the_owner(collective, accounts, sql):
    # The application's role may not even try (tests/test_db_roles.py); the owner's statements meet the triggers.
    txn = _fund(collective, accounts, "30.00")
    with pytest.raises(IntegrityError, match="append-only"), connected_as_owner():
        _raw(sql, [txn.pk])
    txn.refresh_from_db()
    assert txn.memo == ""
    assert sorted(txn.entries.values_list("amount", flat=True)) == [Decimal("-30.00"), Decimal("30.00")]


def test_accounts_are_not_append_only_but_their_balance_cannot_go_negative(collective, accounts):
    Account.objects.filter(pk=accounts["budget"].pk).update(name="Renamed")
    with pytest.raises(IntegrityError, match="account_balance_not_negative"):
        with transaction.atomic():
            Account.objects.filter(pk=accounts["budget"].pk).update(balance=Decimal("-1.00"))


def _insert_raw_transaction(collective, legs):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO budgets_ledgertransaction (collective_id, kind, memo, created_at, linked_type, linked_id)"
            " VALUES (%s, 'raw', '', now(), '', '') RETURNING id",
            [collective.pk],
        )
        txn_id = cursor.fetchone()[0]
        for account, amount in legs:
            cursor.execute(
                "INSERT INTO budgets_entry (collective_id, transaction_id, account_id, amount)"
                " VALUES (%s, %s, %s, %s)",
                [collective.pk, txn_id, account.pk, amount],
            )
    return txn_id


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_an_unbalanced_transaction_at_commit():
    collective = CollectiveFactory()
    accounts = _accounts(collective)
    with pytest.raises(IntegrityError, match="unbalanced"):
        with transaction.atomic():
            _insert_raw_transaction(collective, [(accounts["source"], Decimal("-10.00")),
                                                 (accounts["budget"], Decimal("9.00"))])
    assert LedgerTransaction.objects.count() == 0
    assert Entry.objects.count() == 0

    with transaction.atomic():
        _insert_raw_transaction(collective, [(accounts["source"], Decimal("-10.00")),
                                             (accounts["budget"], Decimal("10.00"))])
    assert Entry.objects.count() == 2


def _check_ledger():
    out, err = StringIO(), StringIO()
    call_command("check_ledger", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_check_ledger_passes_on_a_clean_ledger(collective, accounts):
    _fund(collective, accounts, "100.00")
    spend = transfer(collective=collective, source=accounts["wallet"], destination=accounts["budget"],
                     amount=Decimal("100.00"), kind="spend")
    transaction_reverse(txn=spend)
    out, err = _check_ledger()
    assert "Ledger OK" in out
    assert err == ""


@pytest.mark.django_db(transaction=True)
def test_check_ledger_fails_when_a_cached_balance_is_corrupted(collective, accounts):
    _fund(collective, accounts, "100.00")
    corrupt_balance(accounts["wallet"], Decimal("1000.00"))
    err = StringIO()
    with pytest.raises(CommandError, match="1 ledger invariant"):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    assert "wallet-bob" in err.getvalue() and "caches 1000.00" in err.getvalue()
    assert "entries sum to 100.00" in err.getvalue()


def test_check_ledger_fails_when_a_protected_kind_of_account_is_negative(collective, accounts):
    # Someone flips the flag on a wallet (accounts are editable), then overdraws it.
    Account.objects.filter(pk=accounts["wallet"].pk).update(allow_negative=True)
    transfer(collective=collective, source=accounts["wallet"], destination=accounts["budget"],
             amount=Decimal("25.00"), kind="spend")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    assert "wallet-bob" in err.getvalue() and "is negative: -25.00" in err.getvalue()


def test_check_ledger_fails_when_entries_drive_a_forbidden_account_negative(collective, accounts):
    _insert_raw_transaction(collective, [(accounts["budget"], Decimal("-7.00")),
                                         (accounts["source"], Decimal("7.00"))])
    err = StringIO()
    with pytest.raises(CommandError, match="3 ledger invariant"):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    assert "account budget" in err.getvalue() and "is negative: -7.00" in err.getvalue()


def test_check_ledger_fails_on_a_transaction_without_entries(collective, accounts):
    _insert_raw_transaction(collective, [])
    with pytest.raises(CommandError, match="1 ledger invariant"):
        call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
