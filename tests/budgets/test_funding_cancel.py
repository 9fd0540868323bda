from decimal import Decimal

import pytest
from django.utils import translation

from budgets.available import funded_total, funds_not_granted
from budgets.fundings import funding_cancel, funding_receive
from budgets.ledger_audit import books_violations
from budgets.models import Account, Funding, LedgerTransaction
from budgets.selectors import budgets_with_money
from contrib_budget.errors import Conflict, DomainError, Forbidden
from contributions.closing import period_close
from members.models import AuditEvent

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db

BASE = "/api/v1/collectives/la-fabrique"
ZERO = Decimal("0.00")


def balance(code):
    return Account.objects.get(code=code).balance


def figures(budget):
    annotated = budgets_with_money(budget.collective).get(pk=budget.pk)
    return annotated.received_total, annotated.pledged_total, funded_total(budget)


def test_cancelling_a_pledged_funding_reverses_it_and_it_no_longer_counts(collective, coordinator):
    budget = make_budget(collective, coordinator, received="1000.00", pledged="2000.00")
    pledge = Funding.objects.get(source="Client")
    cancelled = funding_cancel(funding=pledge, actor=coordinator, reason="Typed twice")
    assert cancelled.cancelled_at is not None and cancelled.cancelled_by == coordinator
    assert cancelled.cancel_reason == "Typed twice"
    assert balance(f"budget:{budget.pk}:pledged") == ZERO
    assert balance(f"budget:{budget.pk}:received") == Decimal("1000.00")
    assert figures(budget) == (Decimal("1000.00"), ZERO, Decimal("1000.00"))
    assert funds_not_granted(budget) == Decimal("1000.00")
    assert books_violations() == []
    event = AuditEvent.objects.get(action="funding.cancelled", target_id=str(pledge.pk))
    assert event.actor == coordinator and event.after["cancel_reason"] == "Typed twice"


def test_cancelling_a_received_funding_reverses_its_creation_and_its_arrival(collective, coordinator):
    budget = make_budget(collective, coordinator, received=None, pledged="2000.00")
    pledge = Funding.objects.get(source="Client")
    funding_receive(funding=pledge, actor=coordinator)
    funding_cancel(funding=pledge, actor=coordinator, reason="Wrong budget")
    assert balance(f"budget:{budget.pk}:pledged") == ZERO
    assert balance(f"budget:{budget.pk}:received") == ZERO
    assert LedgerTransaction.objects.filter(reverses__isnull=False).count() == 2
    assert figures(budget) == (ZERO, ZERO, ZERO)
    assert books_violations() == []
    with pytest.raises(Conflict):
        funding_receive(funding=pledge, actor=coordinator)


def test_cancelling_twice_is_refused(collective, coordinator):
    make_budget(collective, coordinator, received="1000.00")
    funding = Funding.objects.get()
    funding_cancel(funding=funding, actor=coordinator, reason="Mistake")
    with pytest.raises(Conflict) as error:
        funding_cancel(funding=funding, actor=coordinator, reason="Again")
    assert error.value.code == "already_cancelled"
    assert LedgerTransaction.objects.filter(reverses__isnull=False).count() == 1


def test_cancelling_money_already_granted_is_refused_and_writes_nothing(collective, coordinator):
    budget = make_budget(collective, coordinator, received="300.00")
    declare(budget, person(collective, 1), "300.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    funding = Funding.objects.get()
    transactions = LedgerTransaction.objects.count()
    with pytest.raises(Conflict) as error, translation.override("en"):
        funding_cancel(funding=funding, actor=coordinator, reason="Mistake")
    assert error.value.code == "funding_granted"
    assert error.value.message.startswith("This funding's money is already granted:")
    funding.refresh_from_db()
    assert funding.cancelled_at is None
    assert LedgerTransaction.objects.count() == transactions
    assert not AuditEvent.objects.filter(action="funding.cancelled").exists()
    assert books_violations() == []


def test_cancelling_a_funding_whose_arrival_paid_owed_money_is_refused(collective, coordinator):
    budget = make_budget(collective, coordinator, received=None, pledged="500.00")
    declare(budget, person(collective, 1), "300.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    pledge = Funding.objects.get()
    funding_receive(funding=pledge, actor=coordinator)
    with pytest.raises(Conflict) as error:
        funding_cancel(funding=pledge, actor=coordinator, reason="Mistake")
    assert error.value.code == "funding_granted"
    pledge.refresh_from_db()
    assert pledge.cancelled_at is None


def test_a_reason_is_required_and_only_coordinators_cancel(collective, coordinator, member):
    make_budget(collective, coordinator, received="1000.00")
    funding = Funding.objects.get()
    with pytest.raises(DomainError) as error:
        funding_cancel(funding=funding, actor=coordinator, reason="  ")
    assert "reason" in error.value.fields
    with pytest.raises(Forbidden):
        funding_cancel(funding=funding, actor=member, reason="Mistake")


def test_api_cancels_on_both_routes_and_shows_the_cancellation(api, collective, coordinator):
    budget = make_budget(collective, coordinator, received="1000.00", pledged="2000.00")
    received, pledge = Funding.objects.get(source="Région"), Funding.objects.get(source="Client")
    client = api(coordinator)
    response = client.post(f"{BASE}/budgets/{budget.pk}/fundings/{pledge.pk}/cancel/", {"reason": "Typo"},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["cancel_reason"] == "Typo" and response.json()["cancelled_at"]
    response = client.post(f"{BASE}/fundings/{received.pk}/cancel/", {"reason": "Typo"}, format="json")
    assert response.status_code == 200, response.content
    body = client.get(f"{BASE}/budgets/{budget.pk}/").json()
    assert (body["received"], body["pledged"]) == ("0.00", "0.00")
    again = client.post(f"{BASE}/fundings/{received.pk}/cancel/", {"reason": "Typo"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_cancelled"


def test_api_requires_a_reason(api, collective, coordinator):
    budget = make_budget(collective, coordinator, received="1000.00")
    funding = Funding.objects.get()
    response = api(coordinator).post(f"{BASE}/budgets/{budget.pk}/fundings/{funding.pk}/cancel/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]


def test_api_cancel_is_forbidden_to_members_and_hidden_from_outsiders(api, collective, coordinator, member, outsider):
    budget = make_budget(collective, coordinator, received="1000.00")
    funding = Funding.objects.get()
    for url in (f"{BASE}/budgets/{budget.pk}/fundings/{funding.pk}/cancel/", f"{BASE}/fundings/{funding.pk}/cancel/"):
        assert api(member).post(url, {"reason": "x"}, format="json").status_code == 403
        assert api(outsider).post(url, {"reason": "x"}, format="json").status_code == 404
    funding.refresh_from_db()
    assert funding.cancelled_at is None


def test_budget_page_cancel_button_cancels_and_strikes_the_funding_through(client, collective, coordinator, member):
    budget = make_budget(collective, coordinator, received="1000.00")
    funding = Funding.objects.get()
    page = f"/c/la-fabrique/budgets/{budget.pk}/"
    cancel = f"/c/la-fabrique/budgets/{budget.pk}/fundings/{funding.pk}/cancel/"
    client.force_login(member)
    assert cancel not in client.get(page).content.decode()
    assert client.post(cancel, {"reason": "x"}).status_code == 403
    client.force_login(coordinator)
    assert cancel in client.get(page).content.decode()
    response = client.post(cancel, {"reason": "Wrong amount"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<del>Région" in html and "Wrong amount" in html and cancel not in html
    funding.refresh_from_db()
    assert funding.cancel_reason == "Wrong amount"
