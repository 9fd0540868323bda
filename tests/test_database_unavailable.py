"""A lost database connection fails the request cleanly (503, nothing saved) and the next request works."""

from django.db import OperationalError

from budgets import fundings
from budgets.models import Funding, LedgerTransaction
from members.notifications import api as notifications_api
from members.notifications import views as notifications_views
from tests.budgets.helpers import make_budget


def lost(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_the_api_answers_503_in_the_error_shape_then_recovers(api, member, monkeypatch):
    monkeypatch.setattr(notifications_api.selectors, "inbox", lost)
    client = api(member)
    client.raise_request_exception = False
    response = client.get("/api/v1/me/notifications/")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["code"] == "service_unavailable" and set(response.json()) == {"detail", "code", "fields"}
    monkeypatch.undo()
    assert client.get("/api/v1/me/notifications/").status_code == 200


def test_a_page_answers_503_then_recovers(client, member, monkeypatch):
    client.force_login(member)
    monkeypatch.setattr(notifications_views.selectors, "inbox", lost)
    client.raise_request_exception = False
    assert client.get("/notifications/").status_code == 503
    monkeypatch.undo()
    assert client.get("/notifications/").status_code == 200


def test_no_money_moves_halfway_when_the_connection_is_lost(api, collective, coordinator, monkeypatch):
    budget = make_budget(collective, coordinator)
    before = (Funding.objects.count(), LedgerTransaction.objects.count())
    monkeypatch.setattr(fundings, "funding_received_notify", lost)  # after the ledger movement, before the commit
    client = api(coordinator)
    client.raise_request_exception = False
    response = client.post(f"/api/v1/collectives/{collective.slug}/budgets/{budget.pk}/fundings/",
                           {"source": "Mairie", "amount": "100.00", "status": "received"}, format="json")
    assert response.status_code == 503
    assert (Funding.objects.count(), LedgerTransaction.objects.count()) == before
