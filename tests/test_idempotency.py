"""A network retry never doubles money: Idempotency-Key on the API, one-time tokens on page forms."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Export
from budgets.fundings import funding_create
from budgets.models import Funding, LedgerTransaction
from cobudget import services as cobudget
from cobudget.models import Allocation
from contrib_budget.idempotency import idempotency_records_purge
from contrib_budget.models import IdempotencyRecord
from contributions.models import Contribution
from members.models import Invitation
from tests.budgets.helpers import declare, make_budget, period_at
from tests.threads import run_concurrently

BASE = "/api/v1/collectives/la-fabrique"


def post(client, url, body, key, **extra):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


@pytest.fixture
def budget(collective, coordinator):
    return make_budget(collective, coordinator)


def test_a_repeated_funding_returns_the_first_answer_and_moves_money_once(api, coordinator, budget):
    client = api(coordinator)
    url = f"{BASE}/budgets/{budget.pk}/fundings/"
    body = {"source": "Mairie", "amount": "800.00", "status": "received"}
    movements = LedgerTransaction.objects.count()
    first = post(client, url, body, "retry-1")
    second = post(client, url, body, "retry-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Funding.objects.filter(source="Mairie").count() == 1
    assert LedgerTransaction.objects.count() == movements + 1


def money_moving_calls(budget, *, coordinator, member, accountant) -> list[tuple]:
    """(who, url, body) of requests that move money or record something: a pledge received, a declaration, an
    invitation, an export, a closing (the period holds a validated declaration)."""
    pledge = funding_create(budget=budget, actor=coordinator, source="Client", amount=Decimal("50.00"),
                            status="pledged")
    declare(budget, member, "40.00")
    return [
        (coordinator, f"{BASE}/budgets/{budget.pk}/fundings/{pledge.pk}/receive/", {}),
        (member, f"{BASE}/contributions/", {"budget": budget.pk, "performed_on": str(budget.starts_on),
                                            "description": "Accueil", "minutes": 0, "value_mode": "self_assessed",
                                            "amount": "12.00"}),
        (coordinator, f"{BASE}/members/", {"email": "newcomer@example.org", "roles": ["member"]}),
        (accountant, f"{BASE}/exports/", {"kind": "journal", "format": "csv"}),
        (coordinator, f"{BASE}/periods/{period_at(budget, 0).pk}/close/", {}),
    ]


def test_each_money_moving_endpoint_does_its_work_once(api, collective, coordinator, member, accountant, budget,
                                                      make_round, make_bucket, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    round = make_round()
    bucket = make_bucket(round)
    calls = money_moving_calls(budget, coordinator=coordinator, member=member, accountant=accountant)
    calls.append((member, f"{BASE}/buckets/{bucket.pk}/allocations/", {"amount": "10.00"}))
    for n, (person, url, body) in enumerate(calls):
        client = api(person)
        first = post(client, url, body, f"call-{n}")
        assert first.status_code < 300, (url, first.json())
        before = _counts()
        again = post(client, url, body, f"call-{n}")
        assert (again.status_code, again.content) == (first.status_code, first.content), url
        assert again["Idempotent-Replayed"] == "true"
        assert _counts() == before, url


def _counts() -> tuple:
    return (LedgerTransaction.objects.count(), Allocation.objects.count(), Contribution.objects.count(),
            Invitation.objects.count(), Funding.objects.filter(status="received").count())


def test_the_same_key_with_another_body_is_refused(api, coordinator, budget):
    client = api(coordinator)
    url = f"{BASE}/budgets/{budget.pk}/fundings/"
    assert post(client, url, {"source": "Mairie", "amount": "800.00"}, "k").status_code == 201
    other = post(client, url, {"source": "Mairie", "amount": "900.00"}, "k")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused" and "Idempotency-Key" in other.json()["fields"]
    assert Funding.objects.filter(source="Mairie").count() == 1


def test_a_repeat_while_the_first_still_runs_is_told_to_wait(api, coordinator, budget):
    client, url, body = api(coordinator), f"{BASE}/budgets/{budget.pk}/fundings/", {"source": "M", "amount": "1.00"}
    post(client, url, body, "busy")
    IdempotencyRecord.objects.update(state=IdempotencyRecord.State.RUNNING)  # as if the first had not answered yet
    response = post(client, url, body, "busy")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_in_use"
    assert Funding.objects.filter(source="M").count() == 1


def test_keys_belong_to_one_person(api, collective, coordinator, budget):
    from tests.factories import MembershipFactory, UserFactory

    other = MembershipFactory(collective=collective, user=UserFactory(email="farid@example.org"),
                              roles=["coordinator"]).user
    url = f"{BASE}/budgets/{budget.pk}/fundings/"
    body = {"source": "Mairie", "amount": "10.00"}
    assert post(api(coordinator), url, body, "shared").status_code == 201
    second = post(api(other), url, body, "shared")
    assert second.status_code == 201 and not second.has_header("Idempotent-Replayed")
    assert Funding.objects.filter(source="Mairie").count() == 2


def test_a_refusal_is_replayed_too_and_a_server_error_frees_the_key(api, coordinator, budget, monkeypatch):
    client = api(coordinator)
    url = f"{BASE}/budgets/{budget.pk}/fundings/"
    refused = post(client, url, {"source": "", "amount": "1.00"}, "bad")
    assert refused.status_code == 400
    assert post(client, url, {"source": "", "amount": "1.00"}, "bad")["Idempotent-Replayed"] == "true"

    from budgets import api as budgets_api

    def crash(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(budgets_api, "funding_create", crash)
    client.raise_request_exception = False
    assert post(client, url, {"source": "Mairie", "amount": "1.00"}, "flaky").status_code == 500
    monkeypatch.undo()
    retried = post(client, url, {"source": "Mairie", "amount": "1.00"}, "flaky")
    assert retried.status_code == 201 and not retried.has_header("Idempotent-Replayed")


def test_a_key_too_long_or_blank_is_refused(api, coordinator, budget):
    url = f"{BASE}/budgets/{budget.pk}/fundings/"
    for key in ("x" * 256, "  "):
        response = post(api(coordinator), url, {"source": "M", "amount": "1.00"}, key)
        assert response.status_code == 400 and "Idempotency-Key" in response.json()["fields"]
    assert post(api(coordinator), url, {"source": "M", "amount": "1.00"}, "x" * 255).status_code == 201
    assert Funding.objects.filter(source="M").count() == 1


def test_answers_are_forgotten_after_24_hours(api, coordinator, budget):
    client = api(coordinator)
    url = f"{BASE}/budgets/{budget.pk}/fundings/"
    post(client, url, {"source": "Mairie", "amount": "1.00"}, "day")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(client, url, {"source": "Mairie", "amount": "1.00"}, "day")
    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_records_purge() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_move_the_money_once(api, collective, coordinator, member, make_round, make_bucket):
    round = make_round()
    bucket = make_bucket(round)
    url = f"{BASE}/buckets/{bucket.pk}/allocations/"

    def allocate(_n):
        return post(api(member), url, {"amount": "10.00"}, "double-click").status_code

    statuses, errors = run_concurrently(allocate, 8)
    assert not errors
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert Allocation.objects.filter(bucket=bucket).count() == 1
    assert cobudget.Wallet.objects.get(round=round, user=member).account.balance == Decimal("90.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_each_money_moving_request_do_the_work_once(api, collective, coordinator, member,
                                                                         accountant, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    budget = make_budget(collective, coordinator)
    calls = money_moving_calls(budget, coordinator=coordinator, member=member, accountant=accountant)
    calls.insert(0, (coordinator, f"{BASE}/budgets/{budget.pk}/fundings/", {"source": "Mairie", "amount": "800.00"}))
    for n, (person, url, body) in enumerate(calls):
        def send(_i, person=person, url=url, body=body, key=f"concurrent-{n}"):
            response = post(api(person), url, body, key)
            return response.status_code, response.get("Idempotent-Replayed")

        answers, errors = run_concurrently(send, 6)
        assert not errors, (url, errors)
        done = [status for status, replayed in answers if status < 300 and not replayed]
        assert len(done) == 1, (url, answers)
        assert all(status == 409 or replayed == "true" for status, replayed in answers if (status, replayed) != (
            done[0], None)), (url, answers)
    assert Funding.objects.filter(source="Mairie").count() == 1
    assert LedgerTransaction.objects.filter(kind="funding_received").count() == 1
    assert Export.objects.count() == 1
    assert Contribution.objects.filter(description="Accueil").count() == 1
    assert Invitation.objects.filter(email="newcomer@example.org").count() == 1


def _form_token(html: str) -> str:
    """The token of the page's main form (the one without an action: it posts to the page itself)."""
    form = re.search(r'<form(?![^>]*action=)[^>]*method="post"[^>]*>(.*?)</form>', html, re.S | re.I).group(1)
    return re.search(r'name="_form_token" value="([^"]+)"', form).group(1)


def test_every_post_form_of_a_page_gets_its_own_token(client, coordinator, budget):
    client.force_login(coordinator)
    html = client.get(f"/c/la-fabrique/budgets/{budget.pk}/fundings/new/").content.decode()
    tokens = re.findall(r'name="_form_token" value="([^"]+)"', html)
    posts = re.findall(r'<form[^>]*method="post"', html, re.I)
    assert len(tokens) == len(posts) >= 1 and len(set(tokens)) == len(tokens)
    assert tokens[0] not in client.get(f"/c/la-fabrique/budgets/{budget.pk}/fundings/new/").content.decode()


def test_a_page_form_submitted_twice_records_once_and_shows_the_first_result(client, coordinator, budget):
    client.force_login(coordinator)
    action = f"/c/la-fabrique/budgets/{budget.pk}/fundings/new/"
    token = _form_token(client.get(action).content.decode())
    body = {"source": "Mairie", "source_kind": "grant", "amount": "300.00", "status": "received",
            "received_on": str(date(2025, 1, 10)), "_form_token": token}
    first = client.post(action, body)
    second = client.post(action, body)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"] and second["Idempotent-Replayed"] == "true"
    assert Funding.objects.filter(source="Mairie").count() == 1


def test_anonymous_forms_are_left_alone(client):
    assert "_form_token" not in client.get("/accounts/login/").content.decode()
