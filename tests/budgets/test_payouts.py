from datetime import date
from decimal import Decimal

import pytest

from budgets.fundings import funding_create, funding_receive
from budgets.ledger_audit import books_violations
from budgets.models import Account, Funding, Payout
from budgets.payouts import payouts_mark_paid
from contrib_budget.errors import Conflict
from contributions.closing import period_close
from members.models import AuditEvent

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db


def balance(code):
    return Account.objects.get(code=code).balance


def test_grants_are_backed_by_received_money_first_then_pledged(collective, coordinator):
    budget = make_budget(collective, coordinator, received="300.00", pledged="2000.00")
    someone = person(collective, 1)
    declare(budget, someone, "500.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    payout = Payout.objects.get()
    assert (payout.payable_amount, payout.owed_amount, payout.state) == (Decimal("300.00"), Decimal("200.00"), "owed")
    assert balance(f"payable:{someone.pk}") == Decimal("300.00")
    assert balance(f"owed:{someone.pk}") == Decimal("200.00")
    assert balance(f"budget:{budget.pk}:received") == Decimal("0.00")
    assert balance(f"budget:{budget.pk}:pledged") == Decimal("1800.00")
    event = AuditEvent.objects.get(action="payout.granted", target_id=str(payout.pk))
    assert event.actor == coordinator and event.after == {"granted": "500.00", "payable": "300.00", "owed": "200.00"}


def test_owed_becomes_payable_oldest_first_when_a_pledge_is_received(collective, coordinator):
    budget = make_budget(collective, coordinator, received=None, pledged="400.00")
    funding_create(budget=budget, actor=coordinator, source="Client 2", amount=Decimal("1000.00"), status="pledged")
    old, new = person(collective, 1), person(collective, 2)
    declare(budget, old, "300.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    declare(budget, new, "300.00", day=period_at(budget, 1).starts_on)
    period_close(period=period_at(budget, 1), actor=coordinator)
    assert {p.state for p in Payout.objects.all()} == {"owed"}
    funding_receive(funding=Funding.objects.get(source="Client"), actor=coordinator, received_on=date(2025, 2, 1))
    older, newer = Payout.objects.order_by("period__index")
    assert (older.payable_amount, older.state) == (Decimal("300.00"), "payable")
    assert (newer.payable_amount, newer.state) == (Decimal("100.00"), "owed")
    assert balance(f"payable:{new.pk}") == Decimal("100.00") and balance(f"owed:{new.pk}") == Decimal("200.00")
    funding_create(budget=budget, actor=coordinator, source="Don", amount=Decimal("250.00"), status="received")
    newer.refresh_from_db()
    assert newer.state == "payable"
    assert balance(f"budget:{budget.pk}:received") == Decimal("50.00")
    assert books_violations(collective) == []


def test_mark_paid_moves_payable_to_paid_once_and_refuses_owed(collective, coordinator, accountant):
    budget = make_budget(collective, coordinator, received="500.00", pledged="500.00")
    a, b = person(collective, 1), person(collective, 2)
    declare(budget, a, "500.00")
    declare(budget, b, "200.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    payable = Payout.objects.get(person=a)
    owed = Payout.objects.get(person=b)
    with pytest.raises(Conflict):
        payouts_mark_paid(collective=collective, payout_ids=[payable.pk, owed.pk], actor=accountant,
                          paid_on=date(2025, 2, 1))
    assert not Payout.objects.filter(paid_on__isnull=False).exists()
    payouts_mark_paid(collective=collective, payout_ids=[payable.pk], actor=accountant, paid_on=date(2025, 2, 1),
                      reference="VIR-9")
    assert balance(f"paid:{a.pk}") == Decimal("500.00") and balance(f"payable:{a.pk}") == Decimal("0.00")
    with pytest.raises(Conflict):
        payouts_mark_paid(collective=collective, payout_ids=[payable.pk], actor=accountant, paid_on=date(2025, 2, 2))
    assert balance(f"paid:{a.pk}") == Decimal("500.00")
    assert books_violations(collective) == []


def test_an_adjusted_declaration_explains_the_adjustment_before_the_grant(api, collective, coordinator):
    budget = make_budget(collective, coordinator)
    adjusted = declare(budget, person(collective, 1), "200.00", status="adjusted", validated_amount="120.00")
    adjusted.decision_reason = "Quatre heures au tarif simple"
    adjusted.save(update_fields=["decision_reason"])
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    (row,) = api(coordinator).get(f"/api/v1/collectives/{collective.slug}/periods/{period.pk}/payouts/",
                                  headers={"accept-language": "en"}).json()["results"]
    assert (row["requested"], row["granted"]) == ("120.00", "120.00")
    assert row["explanation"] == ("Adjusted by the coordinators from €200.00 to €120.00: Quatre heures au tarif "
                                  "simple. Granted in full.")


def test_budget_pages_write_money_the_way_the_reader_does(client, collective, coordinator):
    budget = make_budget(collective, coordinator, received="1234.50")
    declare(budget, person(collective, 1), "300.00")
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    client.force_login(coordinator)
    french = {"accept-language": "fr"}
    payouts = client.get(f"/c/{collective.slug}/periods/{period.pk}/payouts/", headers=french).content.decode()
    assert "accordé : 300,00\u00a0€" in payouts and "<td data-label=\"Demandé\">300,00\u00a0€</td>" in payouts
    listing = client.get(f"/c/{collective.slug}/budgets/", headers=french).content.decode()
    assert "1\u202f234,50\u00a0€" in listing
    assert '<span class="badge">payable</span>' in client.get(f"/c/{collective.slug}/payouts/",
                                                              headers={"accept-language": "en"}).content.decode()
    earnings = client.get("/me/earnings/", headers={"accept-language": "en"}).content.decode()
    assert 'id="total-declared">€0.00</dd>' in earnings


def test_the_payouts_figures_are_checked_against_the_ledger(collective, coordinator):
    budget = make_budget(collective, coordinator, received="300.00", pledged="2000.00")
    first, second = person(collective, 1), person(collective, 2)
    declare(budget, first, "200.00")
    declare(budget, second, "500.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    paid = Payout.objects.get(person=first)
    payouts_mark_paid(collective=collective, payout_ids=[paid.pk], actor=coordinator, paid_on=date(2025, 4, 2))
    paid.refresh_from_db()
    owed = Payout.objects.get(person=second)
    assert paid.grant_transaction.kind == "grant" and paid.payment_transaction.kind == "payout_paid"
    assert owed.grant_transaction.kind == "grant" and owed.payment_transaction is None
    assert books_violations(collective) == []

    # A payout whose cached payable amount drifts from what the ledger moved is caught.
    Payout.objects.filter(pk=owed.pk).update(payable_amount=owed.payable_amount + 1)
    assert books_violations(collective) == [
        f"account owed:{second.pk} ({collective.pk}) holds 400.00 but the posted payouts say 399.00",
        f"account payable:{second.pk} ({collective.pk}) holds 100.00 but the posted payouts say 101.00",
    ]
