from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from budgets.models import Funding
from budgets.periods import period_for_date
from contributions.models import Comment, Contribution, ContributionStatus
from contributions.services import Declaration, contribution_declare
from members.models import Membership
from members.selectors import waiting_items
from tests.conftest import MONDAY

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def form_data(budget, rate, **overrides):
    return {"description": "Ménage du lieu", "performed_on": str(MONDAY + timedelta(days=2)), "budget": budget.pk,
            "work": "", "hours": 1, "minutes": 30, "value_mode": "time_rate", "rate_level": rate.pk,
            "hourly_rate": "", "amount": "", **overrides}


def make_declarations(collective, budget, rate, author, count):
    membership = Membership.objects.get(collective=collective, user=author)
    for n in range(count):
        contribution_declare(collective=collective, membership=membership, declaration=Declaration(
            budget=budget, performed_on=MONDAY + timedelta(days=n % 7), description=f"Travail {n}",
            minutes=30 + n, value_mode="time_rate", rate_level=rate,
        ))


def test_the_form_defaults_to_today_and_my_last_budget_and_rate(member, collective, budget, rate):
    page = client_for(member).get(f"/c/{collective.slug}/contributions/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="description"' in html and "autofocus" in html
    make_declarations(collective, budget, rate, member, 1)
    form = client_for(member).get(f"/c/{collective.slug}/contributions/new/").context["form"]
    assert form.initial["budget"] == budget.pk and form.initial["rate_level"] == rate.pk


def test_declaring_through_the_form_in_hours_and_minutes(member, collective, budget, rate):
    response = client_for(member).post(f"/c/{collective.slug}/contributions/new/", form_data(budget, rate))
    assert response.status_code == 302
    contribution = Contribution.objects.get()
    assert contribution.minutes == 90 and contribution.amount == Decimal("30.00")
    assert response["Location"] == f"/c/{collective.slug}/contributions/{contribution.pk}/"


def test_the_declared_message_shows_the_amount_as_money_in_the_readers_language(member, collective, budget, rate):
    client = Client(headers={"accept-language": "fr"})
    client.force_login(member)
    response = client.post(f"/c/{collective.slug}/contributions/new/", form_data(budget, rate), follow=True)
    assert "Déclaré : 30,00\xa0€ demandés." in [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("overrides, field", [
    ({"minutes": -5}, "minutes"),
    ({"value_mode": "self_assessed", "amount": "12.345"}, "amount"),
    ({"value_mode": "fixed_price", "amount": "5000000"}, "amount"),
])
def test_bad_input_on_the_form_shows_the_error_and_saves_nothing(member, collective, budget, rate, overrides, field):
    response = client_for(member).post(f"/c/{collective.slug}/contributions/new/", form_data(budget, rate, **overrides))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Contribution.objects.exists()


def test_a_closed_period_on_the_form_is_a_clear_error(member, collective, budget, rate, close_period):
    close_period(budget, MONDAY)
    response = client_for(member).post(f"/c/{collective.slug}/contributions/new/", form_data(budget, rate))
    assert response.status_code == 400
    assert "closed" in str(response.context["form"].errors["performed_on"])
    assert not Contribution.objects.exists()


def test_only_contributors_reach_the_form(plain_member, collective, budget):
    assert client_for(plain_member).get(f"/c/{collective.slug}/contributions/new/").status_code == 403


def test_outsider_gets_404_on_every_page(outsider, member, collective, budget, rate):
    make_declarations(collective, budget, rate, member, 1)
    contribution = Contribution.objects.get()
    client = client_for(outsider)
    for path in ("contributions/", "contributions/new/", f"contributions/{contribution.pk}/",
                 f"periods/{contribution.period_id}/"):
        assert client.get(f"/c/{collective.slug}/{path}").status_code == 404
    assert client.post(f"/c/{collective.slug}/contributions/{contribution.pk}/validate/").status_code == 404


def test_question_validate_and_self_review_refused_on_pages(member, coordinator, plain_member, collective, budget,
                                                            rate):
    make_declarations(collective, budget, rate, member, 1)
    contribution = Contribution.objects.get()
    base = f"/c/{collective.slug}/contributions/{contribution.pk}/"
    assert client_for(plain_member).post(base + "question/", {"comment": "Pourquoi ?"}).status_code == 302
    assert client_for(plain_member).post(base + "validate/").status_code == 403
    page = client_for(member).get(base)
    assert "Pourquoi ?" in page.content.decode()
    assert page.context["can_review"] is False and page.context["amend_form"] is not None
    assert client_for(coordinator).post(base + "validate/").status_code == 302
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.VALIDATED
    history = client_for(plain_member).get(base).context["history"]
    assert [event.action for event in history] == ["contribution.declared", "contribution.question",
                                                   "contribution.validated"]


def test_adjust_page_form_requires_a_reason(member, coordinator, collective, budget, rate):
    make_declarations(collective, budget, rate, member, 1)
    contribution = Contribution.objects.get()
    base = f"/c/{collective.slug}/contributions/{contribution.pk}/"
    response = client_for(coordinator).post(base + "adjust/", {"amount": "5.00", "reason": ""})
    assert response.status_code == 400 and response.context["adjust_form"].errors["reason"]
    assert client_for(coordinator).post(base + "adjust/", {"amount": "5.00", "reason": "Trop"}).status_code == 302
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.ADJUSTED and contribution.validated_amount == Decimal("5.00")


def test_period_gauge_turns_red_when_requests_exceed_the_money(member, coordinator, collective, budget, rate):
    Funding.objects.create(collective=collective, budget=budget, source="Région", amount=Decimal("5000.00"),
                           status="received", received_on=MONDAY, created_by=coordinator)
    budget.amount_per_period = Decimal("10.00")
    budget.save()
    make_declarations(collective, budget, rate, member, 2)
    period = period_for_date(budget=budget, day=MONDAY)
    page = client_for(member).get(f"/c/{collective.slug}/periods/{period.pk}/")
    gauge = page.context["gauge"]
    assert gauge.available == Decimal("10.00")
    assert gauge.requested == Decimal("20.33")  # 30 and 31 minutes at 20.00/h
    assert gauge.over and 'class="card gauge-card over"' in page.content.decode()


def test_a_closed_period_page_shows_each_grant_and_its_explanation(member, coordinator, collective, budget, rate):
    from budgets.fundings import funding_create
    from contributions.closing import period_close
    from contributions.services import contribution_validate

    funding_create(budget=budget, actor=coordinator, source="Région", amount=Decimal("5000.00"),
                   status="received", received_on=MONDAY)
    budget.amount_per_period = Decimal("10.00")
    budget.save()
    make_declarations(collective, budget, rate, member, 2)
    reviewer = Membership.objects.get(collective=collective, user=coordinator)
    for contribution in Contribution.objects.all():
        contribution_validate(contribution=contribution, membership=reviewer)
    period = period_close(period=period_for_date(budget=budget, day=MONDAY), actor=coordinator)
    html = client_for(member).get(f"/c/{collective.slug}/periods/{period.pk}/").content.decode()
    assert html.count('class="muted small explanation"') == 2
    assert "because requests (€20.33) exceeded the money available (€10.00)" in html
    assert "each declaration below shows what was granted and why" in html
    assert "at closing, the budget" not in html


def _seed(collective, budget, rate, member, coordinator, count):
    make_declarations(collective, budget, rate, member, count)
    for contribution in Contribution.objects.all()[: count // 2]:
        Comment.objects.create(collective=collective, contribution=contribution, author=coordinator, body="?")


@pytest.mark.parametrize("path", ["contributions/", "periods/{period}/"])
def test_list_and_period_pages_query_count_does_not_grow(
    member, coordinator, collective, budget, rate, django_assert_max_num_queries, path
):
    client = client_for(member)
    _seed(collective, budget, rate, member, coordinator, 5)
    period = period_for_date(budget=budget, day=MONDAY)
    url = f"/c/{collective.slug}/" + path.format(period=period.pk)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _seed(collective, budget, rate, member, coordinator, 45)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 50


def _waiting_titles(user) -> list[str]:
    with translation.override("en"):
        return [item.title for item in waiting_items(user)]


def test_waiting_items_for_reviewers_and_questioned_authors(member, coordinator, plain_member, collective, budget,
                                                            rate, api):
    make_declarations(collective, budget, rate, member, 2)
    assert any("2 declarations wait for your review" in title for title in _waiting_titles(coordinator))
    contribution = Contribution.objects.first()
    api(plain_member).post(f"/api/v1/collectives/{collective.slug}/contributions/{contribution.pk}/question/",
                           {"comment": "Détails ?"}, format="json")
    assert any("question waits for your answer" in title for title in _waiting_titles(member))
    api(member).post(f"/api/v1/collectives/{collective.slug}/contributions/{contribution.pk}/question/",
                     {"comment": "Voilà."}, format="json")
    assert not any("question waits" in title for title in _waiting_titles(member))


def test_the_period_page_and_the_budget_page_agree_on_a_period_being_over(member, coordinator, collective, budget,
                                                                          rate):
    Funding.objects.create(collective=collective, budget=budget, source="Région", amount=Decimal("5000.00"),
                           status="received", received_on=MONDAY, created_by=coordinator)
    budget.amount_per_period = Decimal("10.00")
    budget.save()
    make_declarations(collective, budget, rate, member, 2)
    period = period_for_date(budget=budget, day=MONDAY)
    gauge = client_for(member).get(f"/c/{collective.slug}/periods/{period.pk}/").context["gauge"]
    periods = client_for(member).get(f"/c/{collective.slug}/budgets/{budget.pk}/").context["periods"]
    listed = next(p for p in periods if p.pk == period.pk)
    assert gauge.over is listed.over is True
    assert gauge.available == listed.available_now
