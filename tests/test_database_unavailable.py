"""A lost database connection fails the request cleanly (503, nothing saved) wherever the request meets it, and the
next request works."""

from django.contrib.sessions.models import Session
from django.db import DatabaseError, OperationalError

from budgets import fundings
from budgets.models import Funding, LedgerTransaction
from contrib_budget.sessions import SessionStore
from members.notifications import api as notifications_api
from members.notifications import context_processors
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


# Outside the view: wherever the request meets the lost database, the answer is the same 503.

def test_a_session_that_cannot_be_read_answers_503_on_pages_and_in_the_api(client, member, monkeypatch):
    client.force_login(member)
    client.raise_request_exception = False
    monkeypatch.setattr(SessionStore, "_get_session_from_db", lost)  # read by the middleware, before any view
    page = client.get("/notifications/")
    assert page.status_code == 503 and page["Retry-After"] and page["Content-Type"].startswith("text/html")
    response = client.get("/api/v1/me/notifications/")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["code"] == "service_unavailable" and set(response.json()) == {"detail", "code", "fields"}
    monkeypatch.undo()
    assert client.get("/notifications/").status_code == 200


def test_a_context_processor_that_meets_the_lost_database_while_the_page_renders_answers_503(client, member,
                                                                                         monkeypatch):
    client.force_login(member)
    client.raise_request_exception = False
    monkeypatch.setattr(context_processors, "unread_count", lost)
    response = client.get("/")
    assert response.status_code == 503 and response["Retry-After"]
    assert "Server Error" not in response.content.decode()


def test_a_session_that_cannot_be_saved_on_the_way_out_answers_503(client, member, settings, monkeypatch):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    client.force_login(member)
    client.raise_request_exception = False
    # Django's session middleware reports the failed save as SessionInterrupted (400): the lost database under it
    # still answers 503.
    monkeypatch.setattr(Session, "save", lost)
    assert client.get("/notifications/").status_code == 503
    response = client.get("/api/v1/me/notifications/")
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"


def test_errors_other_than_a_lost_database_keep_their_answers(client, member, settings, monkeypatch):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    client.force_login(member)
    client.raise_request_exception = False

    def gone(*args, **kwargs):  # the session was deleted meanwhile (a logout in another tab)
        raise DatabaseError("Forced update did not affect any rows.")

    monkeypatch.setattr(Session, "save", gone)
    assert client.get("/notifications/").status_code == 400
    monkeypatch.undo()

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(notifications_views.selectors, "inbox", broken)
    assert client.get("/notifications/").status_code == 500


def test_any_other_error_in_the_api_answers_500_in_the_error_shape(api, member, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(notifications_api.selectors, "inbox", broken)
    client = api(member)
    client.raise_request_exception = False
    response = client.get("/api/v1/me/notifications/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error" and set(response.json()) == {"detail", "code", "fields"}
