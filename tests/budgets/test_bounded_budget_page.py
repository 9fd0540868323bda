"""The budget page lists its periods, fundings and envelopes a page at a time, each list with its own page
parameter, and a task is added from its envelope's card: no list on the page grows with the budget."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from budgets.charts import period_name
from budgets.fundings import funding_create
from budgets.models import Envelope, Period, Task
from budgets.views import SECTION_PAGE_SIZE, TASKS_PER_ENVELOPE

from .helpers import make_budget

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _page(client, user, budget, **query):
    client.force_login(user)
    response = client.get(reverse("budget_detail", args=[budget.collective.slug, budget.pk]), query)
    assert response.status_code == 200
    return response


def _weekly(collective, coordinator, weeks: int):
    """A weekly budget whose `weeks` periods have all started, the last one this week."""
    monday = date.today() - timedelta(days=date.today().weekday())
    budget = make_budget(collective, coordinator, starts_on=monday - timedelta(weeks=weeks - 1), ends_on=None)
    Period.objects.bulk_create((
        Period(collective=collective, budget=budget, index=i, starts_on=budget.starts_on + timedelta(weeks=i),
               ends_on=budget.starts_on + timedelta(weeks=i, days=6)) for i in range(weeks)
    ), ignore_conflicts=True)  # creating the budget may have created its first periods
    return budget


def _envelopes(budget, count: int) -> list[Envelope]:
    return Envelope.objects.bulk_create(
        Envelope(collective=budget.collective, budget=budget, name=f"Envelope {i:03d}", amount=Decimal("10.00"))
        for i in range(count)
    )


def test_the_periods_open_on_the_page_of_the_current_period_and_page_back(client, collective, coordinator):
    budget = _weekly(collective, coordinator, SECTION_PAGE_SIZE * 2 + 5)
    current = Period.objects.get(budget=budget, index=SECTION_PAGE_SIZE * 2 + 4)
    response = _page(client, coordinator, budget)
    assert current.pk in [p.pk for p in response.context["periods"]]
    assert response.context["periods_page"].number == 3
    body = response.content.decode()
    assert 'href="?periods_page=2#periods-title" rel="prev">Earlier periods</a>' in body
    first = _page(client, coordinator, budget, periods_page=1).context["periods"]
    assert [p.index for p in first] == list(range(SECTION_PAGE_SIZE))
    assert all(hasattr(p, "available_now") for p in first)


def test_the_chart_keeps_the_latest_started_periods_whatever_the_page(client, collective, coordinator):
    budget = _weekly(collective, coordinator, SECTION_PAGE_SIZE * 2)
    chart = _page(client, coordinator, budget, periods_page=1).context["periods_chart"]
    started = Period.objects.filter(budget=budget, starts_on__lte=date.today()).order_by("-index")
    latest = list(started[:12])[::-1]
    assert [c.label for c in chart.categories] == [period_name(period) for period in latest]


def test_each_list_keeps_the_other_lists_pages(client, collective, coordinator):
    budget = make_budget(collective, coordinator, received=None)
    for i in range(SECTION_PAGE_SIZE + 1):
        funding_create(budget=budget, actor=coordinator, source=f"Source {i:03d}", amount=Decimal("1.00"),
                       status="received")
    _envelopes(budget, SECTION_PAGE_SIZE + 1)
    response = _page(client, coordinator, budget, envelopes_page=2)
    assert [e.name for e in response.context["envelopes"]] == [f"Envelope {SECTION_PAGE_SIZE:03d}"]
    assert len(response.context["fundings"]) == SECTION_PAGE_SIZE
    body = response.content.decode()
    assert 'href="?envelopes_page=2&amp;fundings_page=2#fundings-title" rel="next"' in body
    assert 'href="?envelopes_page=1#envelopes-title" rel="prev"' in body
    fundings = _page(client, coordinator, budget, fundings_page=2).context["fundings"]
    assert [f.source for f in fundings] == [f"Source {SECTION_PAGE_SIZE:03d}"]


def test_an_envelope_shows_its_first_tasks_to_do_and_counts_the_rest(client, collective, coordinator, member):
    budget = make_budget(collective, coordinator)
    [envelope] = _envelopes(budget, 1)
    Task.objects.bulk_create([
        Task(collective=collective, envelope=envelope, title="Done first", priority=1, is_done=True),
        *(Task(collective=collective, envelope=envelope, title=f"Task {i:02d}", priority=2)
          for i in range(TASKS_PER_ENVELOPE + 2)),
        Task(collective=collective, envelope=envelope, title="Draft", is_published=False),
    ])
    [shown] = _page(client, coordinator, budget).context["envelopes"]
    assert [t.title for t in shown.task_list] == [f"Task {i:02d}" for i in range(TASKS_PER_ENVELOPE)]
    assert shown.tasks_not_shown == 4  # two more to do, the draft and the done one
    assert "and 4 more tasks" in _page(client, coordinator, budget).content.decode()
    [seen_by_member] = _page(client, member, budget).context["envelopes"]
    assert seen_by_member.tasks_not_shown == 3  # the draft is the coordinators' only


def test_the_queries_do_not_grow_with_the_budget(client, collective, coordinator, django_assert_max_num_queries):
    small, large = (_weekly(collective, coordinator, weeks) for weeks in (3, SECTION_PAGE_SIZE * 3))
    for budget, count in ((small, 2), (large, SECTION_PAGE_SIZE * 3)):
        for envelope in _envelopes(budget, count):
            Task.objects.bulk_create(Task(collective=collective, envelope=envelope, title=f"T{i}") for i in range(3))
    client.force_login(coordinator)
    url = reverse("budget_detail", args=[collective.slug, small.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    with django_assert_max_num_queries(len(captured)):
        client.get(reverse("budget_detail", args=[collective.slug, large.pk]))


def test_a_task_is_published_in_the_envelope_whose_card_holds_the_form(client, collective, coordinator):
    budget = make_budget(collective, coordinator)
    envelope, other = _envelopes(budget, 2)
    body = _page(client, coordinator, budget).content.decode()
    assert f'name="envelope" value="{other.pk}" id="id_task_{other.pk}_envelope"' in body
    assert "<select name=\"envelope\"" not in body
    url = reverse("task_create", args=[collective.slug, budget.pk])
    response = client.post(url, {"envelope": other.pk, "title": "Affiches", "priority": 2})
    assert response.status_code == 302
    assert Task.objects.get().envelope == other


def test_a_task_cannot_go_to_an_envelope_of_another_budget(client, collective, coordinator):
    budget, elsewhere = make_budget(collective, coordinator), make_budget(collective, coordinator, name="Autre")
    [foreign] = _envelopes(elsewhere, 1)
    client.force_login(coordinator)
    response = client.post(reverse("task_create", args=[collective.slug, budget.pk]),
                           {"envelope": foreign.pk, "title": "Affiches", "priority": 2}, follow=True)
    assert not Task.objects.exists()
    assert "Choose an envelope of this budget." in response.content.decode()
