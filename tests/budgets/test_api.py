from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget, Funding, Payout, Period

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db

BASE = "/api/v1/collectives/la-fabrique"
NEW_BUDGET = {
    "name": "Semaine", "period_kind": "week", "starts_on": "2025-01-06", "ends_on": "2025-02-02",
    "amount_per_period": "1000.00", "overspend_policy": "pro_rata", "leftover_policy": "carry_over",
    "rate_levels": [{"name": "Simple", "hourly_rate": "15.00"}, {"name": "Responsable", "hourly_rate": "25.00"}],
}


def assert_error_shape(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    if code:
        assert body["code"] == code


def test_coordinator_creates_a_budget_with_its_rate_grid_and_periods(api, coordinator):
    response = api(coordinator).post(f"{BASE}/budgets/", NEW_BUDGET, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [level["name"] for level in body["rate_levels"]] == ["Simple", "Responsable"]
    assert body["amount_per_period"] == "1000.00"
    assert (body["received"], body["pledged"], body["granted"], body["remaining"]) == ("0.00",) * 4
    assert Period.objects.filter(budget_id=body["id"]).count() == 4


def test_budget_list_and_detail_are_readable_by_every_member(api, coordinator, member, collective):
    budget = make_budget(collective, coordinator)
    listing = api(member).get(f"{BASE}/budgets/").json()
    assert [b["id"] for b in listing["results"]] == [budget.pk]
    detail = api(member).get(f"{BASE}/budgets/{budget.pk}/").json()
    assert detail["received"] == "10000.00"


def test_patch_replaces_the_rate_grid_keeping_levels_by_id(api, coordinator):
    body = api(coordinator).post(f"{BASE}/budgets/", NEW_BUDGET, format="json").json()
    keep = body["rate_levels"][0]
    response = api(coordinator).patch(f"{BASE}/budgets/{body['id']}/", {
        "name": "Hebdo", "rate_levels": [{"id": keep["id"], "name": "Simple+", "hourly_rate": "16.50"}],
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Hebdo"
    assert response.json()["rate_levels"] == [
        {"id": keep["id"], "name": "Simple+", "hourly_rate": "16.50", "position": 0},
    ]


def test_non_coordinators_cannot_write_budgets(api, member, coordinator, collective):
    assert_error_shape(api(member).post(f"{BASE}/budgets/", NEW_BUDGET, format="json"), 403)
    budget = make_budget(collective, coordinator)
    assert_error_shape(api(member).patch(f"{BASE}/budgets/{budget.pk}/", {"name": "x"}, format="json"), 403)


def test_outsiders_get_404_everywhere(api, outsider, coordinator, collective):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "10.00")
    period = period_at(budget, 0)
    client = api(outsider)
    for url in (f"{BASE}/budgets/", f"{BASE}/budgets/{budget.pk}/", f"{BASE}/budgets/{budget.pk}/fundings/",
                f"{BASE}/budgets/{budget.pk}/periods/", f"{BASE}/periods/{period.pk}/payouts/",
                f"{BASE}/payouts/"):
        assert_error_shape(client.get(url), 404)
    assert_error_shape(client.post(f"{BASE}/periods/{period.pk}/close/", {}, format="json"), 404)


def test_budget_of_another_collective_is_not_found(api, outsider):
    other = Budget.objects.create(collective=outsider.memberships.get().collective, name="x",
                                  starts_on=date(2025, 1, 1))
    assert_error_shape(api(outsider).get(f"{BASE}/budgets/{other.pk}/"), 404)


def test_bad_budget_input_gives_field_errors(api, coordinator):
    bad = {**NEW_BUDGET, "amount_per_period": "10.001", "ends_on": "2024-01-01"}
    response = api(coordinator).post(f"{BASE}/budgets/", bad, format="json")
    assert_error_shape(response, 400)
    assert "amount_per_period" in response.json()["fields"]
    response = api(coordinator).post(f"{BASE}/budgets/", {**NEW_BUDGET, "ends_on": "2024-01-01"}, format="json")
    assert_error_shape(response, 400)
    assert "ends_on" in response.json()["fields"]
    assert not Budget.objects.exists()


def test_fundings_are_added_listed_and_received(api, coordinator, member, collective):
    budget = make_budget(collective, coordinator, received=None)
    url = f"{BASE}/budgets/{budget.pk}/fundings/"
    created = api(coordinator).post(url, {"source": "Client", "source_kind": "client_contract", "amount": "800.00",
                                          "status": "pledged"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pledged" and created.json()["received_on"] is None
    assert_error_shape(api(member).post(url, {"source": "x", "amount": "1.00"}, format="json"), 403)
    assert_error_shape(api(coordinator).post(url, {"source": "x", "amount": "1.001"}, format="json"), 400)
    assert [f["source"] for f in api(member).get(url).json()["results"]] == ["Client"]
    funding_id = created.json()["id"]
    received = api(coordinator).post(f"{url}{funding_id}/receive/", {"received_on": "2025-02-01"}, format="json")
    assert received.status_code == 200, received.content
    assert received.json()["status"] == "received" and received.json()["received_on"] == "2025-02-01"
    again = api(coordinator).post(f"{url}{funding_id}/receive/", {}, format="json")
    assert_error_shape(again, 409, "already_received")
    assert api(member).get(f"{BASE}/budgets/{budget.pk}/").json()["received"] == "800.00"


def test_a_pledged_funding_is_received_through_the_collective_fundings_path(api, coordinator, member, collective):
    budget = make_budget(collective, coordinator, received=None)
    created = api(coordinator).post(f"{BASE}/budgets/{budget.pk}/fundings/",
                                    {"source": "Client", "amount": "300.00", "status": "pledged"}, format="json")
    url = f"{BASE}/fundings/{created.json()['id']}/"
    assert api(member).get(url).json()["status"] == "pledged"
    assert_error_shape(api(member).post(f"{url}receive/", {}, format="json"), 403)
    received = api(coordinator).post(f"{url}receive/", {"received_on": "2025-03-01"}, format="json")
    assert received.status_code == 200, received.content
    assert received.json()["status"] == "received" and received.json()["received_on"] == "2025-03-01"
    assert api(member).get(f"{BASE}/budgets/{budget.pk}/").json()["received"] == "300.00"


def test_envelopes_and_tasks_sub_resources(api, coordinator, member, collective):
    budget = make_budget(collective, coordinator)
    envelopes = f"{BASE}/budgets/{budget.pk}/envelopes/"
    envelope = api(coordinator).post(envelopes, {"name": "Accueil", "amount": "400.00"}, format="json")
    assert envelope.status_code == 201, envelope.content
    envelope_id = envelope.json()["id"]
    patched = api(coordinator).patch(f"{envelopes}{envelope_id}/", {"amount": "450.00"}, format="json")
    assert patched.json()["amount"] == "450.00"
    tasks = f"{BASE}/budgets/{budget.pk}/tasks/"
    low = api(coordinator).post(tasks, {"envelope": envelope_id, "title": "Ranger", "priority": 3}, format="json")
    high = api(coordinator).post(tasks, {"envelope": envelope_id, "title": "Ouvrir", "priority": 1}, format="json")
    hidden = api(coordinator).post(tasks, {"envelope": envelope_id, "title": "Brouillon", "is_published": False},
                                   format="json")
    assert low.status_code == high.status_code == hidden.status_code == 201
    assert [t["title"] for t in api(member).get(tasks).json()["results"]] == ["Ouvrir", "Ranger"]
    assert len(api(coordinator).get(tasks).json()["results"]) == 3
    done = api(coordinator).patch(f"{tasks}{low.json()['id']}/", {"is_done": True}, format="json")
    assert done.json()["is_done"] is True
    assert_error_shape(api(member).post(tasks, {"envelope": envelope_id, "title": "x"}, format="json"), 403)
    other = make_budget(collective, coordinator, name="Autre")
    foreign = api(coordinator).post(f"{BASE}/budgets/{other.pk}/tasks/", {"envelope": envelope_id, "title": "x"},
                                    format="json")
    assert_error_shape(foreign, 400)


def test_periods_list_their_money(api, coordinator, member, collective):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "600.00")
    declare(budget, person(collective, 2), "300.00", status="pending")
    body = api(member).get(f"{BASE}/budgets/{budget.pk}/periods/").json()
    first = body["results"][0]
    assert {"id", "starts_on", "ends_on", "status", "available", "requested", "validated", "granted"} <= set(first)
    assert (first["status"], first["available"], first["requested"], first["validated"], first["granted"]) == (
        "open", "1000.00", "900.00", "600.00", "0.00")


def test_close_endpoint_closes_and_lists_payouts(api, coordinator, member, accountant, collective):
    budget = make_budget(collective, coordinator)
    for n, amount in enumerate(("600.00", "300.00", "300.00")):
        declare(budget, person(collective, n), amount)
    period = period_at(budget, 0)
    assert_error_shape(api(member).post(f"{BASE}/periods/{period.pk}/close/", {}, format="json"), 403)
    closed = api(coordinator).post(f"{BASE}/periods/{period.pk}/close/", {}, format="json")
    assert closed.status_code == 200, closed.content
    assert (closed.json()["status"], closed.json()["granted"]) == ("closed", "1000.00")
    assert api(coordinator).post(f"{BASE}/periods/{period.pk}/close/", {}, format="json").status_code == 200
    payouts = api(member).get(f"{BASE}/periods/{period.pk}/payouts/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    first = next(p for p in payouts if p["requested"] == "600.00")
    assert first["granted"] == "500.00"
    assert first["state"] == "payable"
    assert first["explanation"] == ("Scaled to 83.33% because requests (€1,200.00) exceeded the money available "
                                    "(€1,000.00).")
    assert {"contribution", "author", "requested", "granted", "explanation", "state", "owed", "payable",
            "paid_on", "reference"} <= set(first)


def test_explanations_are_translated(api, coordinator, collective):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "1200.00")
    period = period_at(budget, 0)
    api(coordinator).post(f"{BASE}/periods/{period.pk}/close/", {}, format="json")
    response = api(coordinator).get(f"{BASE}/periods/{period.pk}/payouts/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "83,33" in response.json()["results"][0]["explanation"]


def test_mark_paid_single_bulk_and_refusals(api, coordinator, member, accountant, collective):
    budget = make_budget(collective, coordinator, received="500.00", pledged="1000.00")
    for n in range(3):
        declare(budget, person(collective, n), "400.00")
    period = period_at(budget, 0)
    api(coordinator).post(f"{BASE}/periods/{period.pk}/close/", {}, format="json")
    payouts = list(Payout.objects.order_by("id"))
    states = [p.state for p in payouts]
    assert states == ["payable", "owed", "owed"]
    first, second, third = payouts
    assert_error_shape(api(member).post(f"{BASE}/payouts/{first.pk}/mark-paid/", {}, format="json"), 403)
    refused = api(accountant).post(f"{BASE}/payouts/{second.pk}/mark-paid/", {}, format="json")
    assert_error_shape(refused, 409, "not_payable")
    paid = api(accountant).post(f"{BASE}/payouts/{first.pk}/mark-paid/",
                                {"paid_on": "2025-02-10", "reference": "VIR-1"}, format="json")
    assert paid.status_code == 200, paid.content
    assert (paid.json()["state"], paid.json()["paid_on"], paid.json()["reference"]) == ("paid", "2025-02-10", "VIR-1")
    again = api(accountant).post(f"{BASE}/payouts/{first.pk}/mark-paid/", {}, format="json")
    assert_error_shape(again, 409, "already_paid")
    Funding.objects.filter(status="pledged").get()
    pledge = Funding.objects.get(status="pledged")
    api(coordinator).post(f"{BASE}/budgets/{budget.pk}/fundings/{pledge.pk}/receive/", {}, format="json")
    bulk = api(coordinator).post(f"{BASE}/payouts/mark-paid/",
                                 {"payouts": [second.pk, third.pk], "paid_on": "2025-03-01", "reference": "LOT-2"},
                                 format="json")
    assert bulk.status_code == 200, bulk.content
    assert {p["state"] for p in bulk.json()} == {"paid"}
    assert api(accountant).get(f"{BASE}/payouts/?state=paid").json()["count"] == 3


def test_my_earnings_across_collectives(api, coordinator, collective):
    budget = make_budget(collective, coordinator, received="300.00", pledged="1000.00")
    someone = person(collective, 1)
    declare(budget, someone, "500.00")
    declare(budget, someone, "50.00", status="pending")
    from contributions.closing import period_close

    period_close(period=period_at(budget, 0), actor=coordinator)
    body = api(someone).get("/api/v1/me/earnings/").json()
    assert body["totals"] == [{"currency": "EUR", "declared": "550.00", "granted": "500.00", "owed": "200.00",
                               "payable": "300.00", "paid": "0.00"}]
    assert body["collectives"][0]["collective"] == "la-fabrique"
    assert Decimal(body["collectives"][0]["granted"]) == Decimal("500.00")


def test_the_openapi_schema_types_the_ids_of_budget_and_contribution_paths():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    prefix = "/api/v1/collectives/{collective_slug}"
    for path, name in ((f"{prefix}/contributions/{{id}}/", "id"), (f"{prefix}/fundings/{{funding_id}}/", "funding_id")):
        types = {p["name"]: p["schema"]["type"] for p in paths[path]["get"]["parameters"] if p["in"] == "path"}
        assert types[name] == "integer"
