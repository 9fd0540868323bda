"""The collective's home as a dashboard: each app's panels for the reader's roles, what waits for them with one
button each, recent activity, and a number of queries that does not grow with the budgets and rounds."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from budgets.models import Payout, PeriodStatus
from budgets.payouts import payouts_mark_paid
from cobudget import services as cobudget
from cobudget.dashboard import _NEAREST_THEIR_GOAL
from contributions.closing import period_close
from contributions.models import ContributionStatus
from members.models import AuditEvent, Membership, Role
from members.selectors import waiting_items
from tests.budgets.helpers import declare, make_budget, period_at
from tests.factories import CollectiveFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _page(client, user, collective):
    client.force_login(user)
    response = client.get(reverse("collective_dashboard", args=[collective.slug]))
    assert response.status_code == 200
    return response


def _panel(response, code: str) -> dict | None:
    return next((shown.data for shown in response.context["panels"] if shown.panel.code == code), None)


def _waiting(response) -> list[tuple[str, str, str]]:
    return [(item.title, item.url, item.action) for item in _panel(response, "members.waiting")["items"]]


def _round(collective, coordinator, name="Printemps", **fields):
    fields = {"envelope_policy": "equal", "envelope_amount": Decimal("100.00"), **fields}
    return cobudget.round_open(round=cobudget.round_create(collective=collective, actor=coordinator, name=name,
                                                           **fields), actor=coordinator)


def _bucket(round, actor, title, min_goal, max_goal):
    return cobudget.bucket_propose(bucket=cobudget.bucket_create(
        round=round, actor=actor, title=title,
        lines=[{"description": "All", "min_amount": min_goal, "max_amount": max_goal}]), actor=actor)


def test_an_outsider_gets_404(client, collective, outsider):
    client.force_login(outsider)
    assert client.get(reverse("collective_dashboard", args=[collective.slug])).status_code == 404


def test_the_about_card_and_the_links_repeating_the_menu_are_gone_the_facts_stay_small(client, collective, member):
    body = _page(client, member, collective).content.decode()
    main = body[body.index("<main"):]
    assert "About</h2>" not in main and "Go to</h2>" not in main
    assert "member, contributor" in main and "1 member" in main and "EUR" in main


def test_each_budget_shows_a_gauge_of_received_promised_granted_and_left(client, collective, coordinator, member):
    budget = make_budget(collective, coordinator, pledged="2000.00")
    declare(budget, member, "1600.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    response = _page(client, member, collective)
    [shown] = _panel(response, "budgets.money")["budgets"]
    assert [(item.series.label, item.text) for item in shown.gauge.legend] == [
        ("Received", "€10,000.00"), ("Promised", "€2,000.00"), ("Granted", "€1,000.00"), ("Left", "€11,000.00")]
    body = response.content.decode()
    assert f'id="budget-{budget.pk}-money"' in body
    assert 'aria-label="Money in: Received €10,000.00, Promised €2,000.00"' in body
    assert 'aria-label="Money out: Granted €1,000.00, Left €11,000.00"' in body


def test_a_finished_budget_with_nothing_left_leaves_the_dashboard(client, collective, coordinator, member):
    make_budget(collective, coordinator, name="Ancien", received=None, starts_on=date(2024, 1, 1),
                ends_on=date(2024, 1, 31), period_kind="month")
    running = make_budget(collective, coordinator, name="En cours", ends_on=None)
    budgets = _panel(_page(client, member, collective), "budgets.money")["budgets"]
    assert [budget.pk for budget in budgets] == [running.pk]


def test_the_periods_under_way_show_requests_against_money_and_the_gap(client, collective, coordinator, member):
    today = timezone.localdate()
    budget = make_budget(collective, coordinator, name="Mois", period_kind="month", starts_on=today.replace(day=1),
                         ends_on=None, amount_per_period="500.00")
    declare(budget, member, "650.00", status=ContributionStatus.PENDING, day=today)
    response = _page(client, member, collective)
    [period] = _panel(response, "budgets.periods")["periods"]
    assert (period.requested, period.available_now, period.over) == (Decimal("650.00"), Decimal("500.00"), True)
    body = response.content.decode()
    assert "Over: the requests exceed the money by €150.00." in body
    assert 'aria-label="Requested €650.00; available €500.00 (130%)"' in body


def test_the_coordinator_finds_each_task_with_one_button(client, collective, coordinator, member):
    held = make_budget(collective, coordinator, name="Tenu", overspend_policy="hold")
    declare(held, member, "1500.00")
    deficit = period_close(period=period_at(held, 0), actor=coordinator)
    assert deficit.status == PeriodStatus.DEFICIT
    declare(held, member, "20.00", status=ContributionStatus.PENDING, day=date(2025, 1, 14))
    waiting = _waiting(_page(client, coordinator, collective))
    assert ("1 declaration waits for your review in La Fabrique",
            reverse("contribution_list", args=[collective.slug]) + "?status=pending", "Review") in waiting
    assert ("Tenu: the requests of the period Jan. 6, 2025 – Jan. 12, 2025 exceed its money",
            reverse("period_decision", args=[collective.slug, deficit.pk]), "Decide") in waiting
    assert ("Tenu: 11 periods have ended and wait to be closed",
            reverse("budget_detail", args=[collective.slug, held.pk]) + "#periods", "Close") in waiting


def test_a_member_without_the_coordinator_role_sees_none_of_the_coordinator_tasks(client, collective, coordinator,
                                                                                  member):
    held = make_budget(collective, coordinator, name="Tenu", overspend_policy="hold")
    declare(held, coordinator, "1500.00")
    deficit = period_close(period=period_at(held, 0), actor=coordinator)
    declare(held, coordinator, "20.00", status=ContributionStatus.PENDING, day=date(2025, 1, 14))
    response = _page(client, member, collective)
    assert _waiting(response) == []
    body = response.content.decode()
    assert reverse("period_decision", args=[collective.slug, deficit.pk]) not in body
    assert "Review" not in body and "wait to be closed" not in body
    assert "Nothing waits for you here right now." in body


def test_the_accountant_pays_and_locks_and_a_coordinator_pays_only_where_nobody_is_accountant(
        client, collective, coordinator, member, accountant):
    budget = make_budget(collective, coordinator)
    declare(budget, member, "400.00")
    declare(budget, member, "300.00", day=date(2025, 1, 14))
    period_close(period=period_at(budget, 0), actor=coordinator)
    period_close(period=period_at(budget, 1), actor=coordinator)
    first = Payout.objects.get(period=period_at(budget, 0))
    payouts_mark_paid(collective=collective, payout_ids=[first.pk], actor=accountant, paid_on=date(2025, 2, 1))
    waiting = _waiting(_page(client, accountant, collective))
    assert ("1 payout to pay: €300.00", reverse("payouts", args=[collective.slug]) + "?state=payable", "Pay") in waiting
    assert ("1 closed period is paid and can be locked", reverse("accounting_index", args=[collective.slug]),
            "Lock") in waiting
    assert not any(action in ("Review", "Decide", "Close") for _t, _u, action in waiting)
    assert not any(action == "Pay" for _t, _u, action in _waiting(_page(client, coordinator, collective)))
    Membership.objects.filter(user=accountant).delete()
    assert any(action == "Pay" for _t, _u, action in _waiting(_page(client, coordinator, collective)))


def test_what_waits_here_reads_this_collective_only_whatever_waits_in_the_person_other_collectives(
        client, collective, coordinator):
    elsewhere = CollectiveFactory(name="Ailleurs", slug="ailleurs")
    MembershipFactory(collective=elsewhere, user=coordinator,
                      roles=[Role.COORDINATOR.value, Role.ACCOUNTANT.value, Role.CONTRIBUTOR.value])
    budget = make_budget(elsewhere, coordinator)
    declare(budget, coordinator, "400.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    assert {item.action for item in waiting_items(coordinator)} >= {"Pay", "Close"}

    with CaptureQueriesContext(connection) as queries:
        here = waiting_items(coordinator, collective=collective)
    assert here == []
    # The person's invitations are theirs, in no collective; every other read names this collective.
    reads = [query["sql"] for query in queries.captured_queries if "members_invitation" not in query["sql"]]
    assert reads and all(f'"collective_id" = {collective.pk}' in sql for sql in reads), reads
    assert _waiting(_page(client, coordinator, collective)) == []


def test_the_rounds_show_my_wallet_and_the_buckets_nearest_their_goal(client, collective, coordinator, member,
                                                                       accountant):
    round = _round(collective, coordinator)
    far = _bucket(round, coordinator, "Loin", "100.00", "100.00")
    near = _bucket(round, coordinator, "Presque", "50.00", "80.00")
    halfway = _bucket(round, coordinator, "Moitié", "40.00", "40.00")
    full = _bucket(round, coordinator, "Plein", "10.00", "10.00")
    for bucket, amount in ((far, "10.00"), (near, "45.00"), (halfway, "20.00"), (full, "10.00")):
        cobudget.allocation_create(bucket=bucket, actor=member, amount=amount)
    response = _page(client, member, collective)
    [shown] = _panel(response, "cobudget.rounds")["rounds"]
    assert [bucket.title for bucket in shown.nearest] == ["Presque", "Moitié", "Loin"]  # a full bucket needs nothing
    assert [(item.series.label, item.text) for item in shown.wallet_chart.legend] == [
        ("Given", "€85.00"), ("Left to give", "€15.00")]
    assert "Raised €45.00; minimum €50.00 (90%); maximum €80.00 (56%)" in response.content.decode()
    # The accountant takes no part in the round: no wallet, no "give" button, the buckets still show.
    [seen] = _panel(_page(client, accountant, collective), "cobudget.rounds")["rounds"]
    assert seen.wallet_chart is None and len(seen.nearest) == 3


def test_the_database_sends_only_the_buckets_shown_nearest_their_goal(collective, coordinator, member):
    """A round of many buckets costs the dashboard the three it shows, not a row per bucket."""
    round = _round(collective, coordinator)
    buckets = [_bucket(round, coordinator, f"B{index}", "10.00", "20.00") for index in range(5)]
    cobudget.allocation_create(bucket=buckets[3], actor=member, amount="5.00")
    cobudget.allocation_create(bucket=buckets[4], actor=member, amount="20.00")  # full: it needs nothing
    sent = _NEAREST_THEIR_GOAL.rows(collective_id=collective.pk, round_ids=[round.pk])
    assert [bucket.title for bucket in sent] == ["B3", "B0", "B1"]  # even shares in the order proposed
    assert sent[0].funded == Decimal("5.00")


def test_recent_activity_is_what_i_was_told_and_for_coordinators_the_latest_changes(client, collective,
                                                                                    coordinator, member):
    budget = make_budget(collective, coordinator)
    declare(budget, member, "400.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    mine = _panel(_page(client, member, collective), "members.activity")
    assert mine["events"] == [] and len(mine["notifications"]) == 1
    assert "€400.00" in mine["notifications"][0].text
    coordinating = _panel(_page(client, coordinator, collective), "members.activity")
    assert [event.action for event in coordinating["events"]][:1] == [
        AuditEvent.objects.of(collective).order_by("-created_at", "-id").first().action]
    body = _page(client, coordinator, collective).content.decode()
    assert "period closed" in body and reverse("audit_log", args=[collective.slug]) in body


def _several_of_everything(collective, coordinator, member, count: int) -> None:
    today = timezone.localdate()
    for n in range(count):
        budget = make_budget(collective, coordinator, name=f"Budget {n}", pledged="500.00", period_kind="month",
                             starts_on=today.replace(day=1) - timedelta(days=60), ends_on=None,
                             amount_per_period=None if n % 2 else "300.00")
        declare(budget, member, "100.00", day=today)
        declare(budget, member, "50.00", status=ContributionStatus.PENDING, day=today)
        round = _round(collective, coordinator, name=f"Round {n}")
        for b in range(3):
            bucket = _bucket(round, coordinator, f"Bucket {n}.{b}", "50.00", "90.00")
            cobudget.allocation_create(bucket=bucket, actor=member, amount="10.00")


@pytest.mark.parametrize("role", ["coordinator", "member"])
def test_the_dashboard_takes_as_many_queries_for_many_budgets_and_rounds_as_for_one(
        client, collective, coordinator, member, role, django_assert_max_num_queries):
    reader = {"coordinator": coordinator, "member": member}[role]
    _several_of_everything(collective, coordinator, member, 1)
    client.force_login(reader)
    url = reverse("collective_dashboard", args=[collective.slug])
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    _several_of_everything(collective, coordinator, member, 3)
    with CaptureQueriesContext(connection) as four:
        response = client.get(url)
    assert len(_panel(response, "budgets.money")["budgets"]) == 4
    assert len(_panel(response, "cobudget.rounds")["rounds"]) == 3
    assert len(four) == len(one), [q["sql"][:120] for q in four.captured_queries]
    with django_assert_max_num_queries(30):
        client.get(url)



def test_the_figures_read_in_the_reader_language_with_the_collective_currency(client, collective, coordinator,
                                                                              member):
    make_budget(collective, coordinator, pledged="2000.00")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    body = _page(client, member, collective).content.decode().replace("\u202f", " ").replace("\xa0", " ")
    assert "<strong>10 000,00 €</strong>" in body and "<strong>2 000,00 €</strong>" in body
    # The geometry stays in dots, whatever the reader's decimal comma.
    assert 'width="83.333%"' in body
