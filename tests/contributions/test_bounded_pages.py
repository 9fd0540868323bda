"""The declaration pages list nothing that grows: a thread shows its latest comments with a link to older ones,
the list's filters are typed (a person, a range of days) instead of selects of every member and period, and the
form offers only the budgets, envelopes and tasks one can declare to now."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from budgets.models import Budget, Envelope, PeriodStatus, Task
from budgets.periods import period_for_date
from contributions.forms import BatchValidateForm
from contributions.models import Comment, CommentKind, Contribution
from contributions.services import Declaration, contribution_declare
from contributions.views import COMMENTS_PAGE_SIZE
from members.models import Membership
from tests.conftest import MONDAY

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def declare(collective, budget, rate, author, *, day=MONDAY, description="Travail") -> Contribution:
    membership = Membership.objects.get(collective=collective, user=author)
    return contribution_declare(collective=collective, membership=membership, declaration=Declaration(
        budget=budget, performed_on=day, description=description, minutes=60, value_mode="time_rate",
        rate_level=rate))


def comment(contribution, author, count, *, start=0):
    Comment.objects.bulk_create(
        Comment(collective=contribution.collective, contribution=contribution, author=author,
                kind=CommentKind.QUESTION, body=f"Question {i:03d}") for i in range(start, start + count)
    )


# The thread --------------------------------------------------------------------------------------


def test_the_thread_shows_the_latest_comments_oldest_first_and_links_to_older(
        member, coordinator, collective, budget, rate):
    contribution = declare(collective, budget, rate, member)
    comment(contribution, coordinator, COMMENTS_PAGE_SIZE + 3)
    client = client_for(member)
    url = f"/c/{collective.slug}/contributions/{contribution.pk}/"
    latest = client.get(url)
    bodies = [c.body for c in latest.context["thread"].object_list]
    assert bodies == [f"Question {i:03d}" for i in range(3, COMMENTS_PAGE_SIZE + 3)]
    html = latest.content.decode()
    assert 'href="?comments_page=2#thread-title" rel="next">Older comments</a>' in html
    assert "Newer comments" not in html
    older = client.get(url, {"comments_page": 2})
    assert [c.body for c in older.context["thread"].object_list] == ["Question 000", "Question 001", "Question 002"]
    assert 'href="?comments_page=1#thread-title" rel="prev">Newer comments</a>' in older.content.decode()


def test_the_thread_costs_the_same_queries_and_bytes_at_any_length(member, coordinator, collective, budget, rate):
    few, many = declare(collective, budget, rate, member), declare(collective, budget, rate, member)
    comment(few, coordinator, COMMENTS_PAGE_SIZE)
    comment(many, coordinator, COMMENTS_PAGE_SIZE * 3)
    client = client_for(coordinator)
    sizes, counts = [], []
    for contribution in (few, many):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/c/{collective.slug}/contributions/{contribution.pk}/")
        sizes.append(len(response.content))
        counts.append(len(captured))
    assert counts[0] == counts[1]
    assert sizes[1] - sizes[0] < 200  # the link to older comments, nothing per comment


def test_a_posted_comment_shows_on_the_first_page(member, coordinator, collective, budget, rate):
    contribution = declare(collective, budget, rate, member)
    comment(contribution, coordinator, COMMENTS_PAGE_SIZE * 2)
    client = client_for(member)
    url = f"/c/{collective.slug}/contributions/{contribution.pk}/"
    client.post(url + "question/", {"comment": "Voici la réponse"})
    assert client.get(url).context["thread"].object_list[-1].body == "Voici la réponse"


# The list's filters ------------------------------------------------------------------------------


def test_the_filters_list_no_member_and_no_period(member, coordinator, collective, budget, rate):
    declare(collective, budget, rate, member)
    html = client_for(coordinator).get(f"/c/{collective.slug}/contributions/").content.decode()
    assert 'name="person"' in html and "data-person-picker" in html
    assert f'data-suggest-url="/c/{collective.slug}/members/search/"' in html
    assert '<select name="period"' not in html and "Bob" not in html.split('id="declarations"')[0]


def test_a_typed_person_filters_the_declarations_by_their_author(member, contributor, coordinator, collective,
                                                                budget, rate):
    declare(collective, budget, rate, member, description="Par Bob")
    declare(collective, budget, rate, contributor, description="Par David")
    client = client_for(coordinator)
    for typed in ("Bob", "bob@example.org", str(member.pk)):
        page = client.get(f"/c/{collective.slug}/contributions/", {"person": typed}).context["page"]
        assert [c.description for c in page.object_list] == ["Par Bob"], typed


def test_an_unknown_person_is_a_clear_error_and_the_other_filters_still_apply(
        member, coordinator, collective, budget, rate):
    declare(collective, budget, rate, member)
    response = client_for(coordinator).get(f"/c/{collective.slug}/contributions/",
                                           {"person": "Zoé", "status": "validated"})
    assert "Nobody who declared here matches “Zoé”." in response.content.decode()
    assert list(response.context["page"].object_list) == []


def test_a_range_of_days_filters_the_declarations(member, collective, budget, rate):
    declare(collective, budget, rate, member, day=MONDAY, description="Lundi")
    declare(collective, budget, rate, member, day=MONDAY + timedelta(days=8), description="Mardi suivant")
    client = client_for(member)
    url = f"/c/{collective.slug}/contributions/"
    since = client.get(url, {"since": str(MONDAY + timedelta(days=1))}).context["page"]
    assert [c.description for c in since.object_list] == ["Mardi suivant"]
    until = client.get(url, {"until": str(MONDAY)}).context["page"]
    assert [c.description for c in until.object_list] == ["Lundi"]
    backwards = client.get(url, {"since": str(MONDAY + timedelta(days=2)), "until": str(MONDAY)})
    assert "Choose a day on or after the first one." in backwards.content.decode()


def test_a_period_given_by_a_link_still_filters_and_can_be_removed(member, collective, budget, rate):
    declare(collective, budget, rate, member, day=MONDAY, description="Semaine 1")
    declare(collective, budget, rate, member, day=MONDAY + timedelta(days=7), description="Semaine 2")
    period = period_for_date(budget=budget, day=MONDAY)
    response = client_for(member).get(f"/c/{collective.slug}/contributions/", {"period": period.pk, "status": ""})
    assert [c.description for c in response.context["page"].object_list] == ["Semaine 1"]
    html = response.content.decode()
    assert f'<input type="hidden" name="period" value="{period.pk}"' in html
    assert 'id="period-filter"' in html and 'href="?status=">Any period</a>' in html


def test_the_batch_keeps_the_new_filters_on_the_way_back():
    form = BatchValidateForm({"ids": ["1"], "query": "person=Bob&since=2025-03-03&until=2025-03-09&evil=1"})
    assert form.is_valid()
    assert form.back_query() == "?person=Bob&since=2025-03-03&until=2025-03-09"


# The form ----------------------------------------------------------------------------------------


def _ended(collective, *, name: str) -> Budget:
    """A budget that ended, its only period closed: nobody can declare to it any more."""
    ended = Budget.objects.create(collective=collective, name=name, period_kind="none", starts_on=date(2024, 1, 1),
                                  ends_on=date(2024, 12, 31), amount_per_period=Decimal("10.00"))
    period = period_for_date(budget=ended, day=date(2024, 6, 1))
    period.status, period.available = PeriodStatus.CLOSED, Decimal("0.00")
    period.save(update_fields=["status", "available"])
    return ended


def test_the_form_offers_only_what_one_can_declare_to_now(member, collective, budget, rate, envelope, task):
    ended = _ended(collective, name="Fini")
    old = Envelope.objects.create(collective=collective, budget=ended, name="Ancienne", amount=Decimal("1.00"))
    Task.objects.create(collective=collective, envelope=old, title="Ancienne tâche")
    Task.objects.create(collective=collective, envelope=envelope, title="Déjà faite", is_done=True)
    form = client_for(member).get(f"/c/{collective.slug}/contributions/new/").context["form"]
    assert list(form.fields["budget"].queryset) == [budget]
    assert [label for _value, label in form.fields["work"].choices] == [
        "— none —", "Accueil", "Accueil › Ouvrir le lieu"]
    assert list(form.fields["rate_level"].queryset) == [rate]


def test_an_ended_budget_whose_last_period_is_still_open_is_offered(member, collective, budget):
    ended = Budget.objects.create(collective=collective, name="Fini", period_kind="none", starts_on=date(2024, 1, 1),
                                  ends_on=date(2024, 12, 31), amount_per_period=Decimal("10.00"))
    form = client_for(member).get(f"/c/{collective.slug}/contributions/new/").context["form"]
    assert set(form.fields["budget"].queryset) == {budget, ended}  # its period is not even created yet
    period_for_date(budget=ended, day=date(2024, 6, 1))
    form = client_for(member).get(f"/c/{collective.slug}/contributions/new/").context["form"]
    assert set(form.fields["budget"].queryset) == {budget, ended}


def test_without_an_open_budget_the_form_says_why(member, collective):
    _ended(collective, name="Fini")
    html = client_for(member).get(f"/c/{collective.slug}/contributions/new/").content.decode()
    assert "No budget takes declarations now: every period of every budget is closed." in html
