"""Reminders: each reaches the right people once per occasion, however often beat runs or wherever a run died;
each can be switched off per collective."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from budgets.models import Period, PeriodStatus
from budgets.periods import period_for_date
from cobudget import services as cobudget
from contributions.models import Contribution
from contributions.services import contribution_validate
from members.models import Membership, Role
from members.notifications import reminders
from members.notifications.models import Notification, ReminderSettings
from tests.factories import MembershipFactory, UserFactory

from .support import MONDAY, declare, make_budget, paris

pytestmark = pytest.mark.django_db

# The first weekly period runs from Monday 3 to Sunday 9 March 2025: two days before its end is Friday 7.
TWO_DAYS_BEFORE_THE_END = paris(2025, 3, 7, 10, 0)


def reminded(kind: str) -> dict[str, int]:
    """Who holds a reminder of `kind`, and how many."""
    counts: dict[str, int] = {}
    for email in Notification.objects.filter(kind=kind).values_list("recipient__email", flat=True):
        counts[email] = counts.get(email, 0) + 1
    return counts


def switch_off(collective, **fields):
    ReminderSettings.objects.update_or_create(collective=collective, defaults=fields)


@pytest.fixture
def contributor(collective):
    """David declares work (Bob, `member`, is a contributor too; Alice, the coordinator, is not)."""
    return MembershipFactory(collective=collective, user=UserFactory(email="david@example.org", name="David"),
                             roles=[Role.CONTRIBUTOR.value]).user


@pytest.fixture
def period(collective):
    return period_for_date(budget=make_budget(collective), day=MONDAY)


# --- declare before the period closes ------------------------------------------------------------------------------


def test_contributors_who_declared_nothing_are_reminded_before_the_period_closes(
        collective, coordinator, member, contributor, accountant, period):
    declare(collective, member, period.budget)

    assert reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END) >= 1

    assert reminded("period.closing_soon") == {"david@example.org": 1}
    notification = Notification.objects.get(kind="period.closing_soon")
    assert notification.collective == collective
    assert notification.url == f"/c/{collective.slug}/periods/{period.pk}/"
    assert notification.params["budget"] == "Tiers-lieu"


def test_the_declare_reminder_reaches_a_period_of_an_open_ended_budget_not_created_yet(collective, contributor):
    budget = make_budget(collective, name="Atelier", starts_on=date(2025, 1, 6))
    assert not Period.objects.filter(budget=budget).exists()
    reminders.reminders_send(now=paris(2025, 3, 7, 12, 0))
    assert reminded("period.closing_soon") == {"david@example.org": 1}
    period = Period.objects.get(budget=budget, ends_on=date(2025, 3, 9))
    assert Notification.objects.get(kind="period.closing_soon").url == f"/c/{collective.slug}/periods/{period.pk}/"


def test_the_declare_reminder_waits_until_n_days_before_the_end(collective, contributor, period):
    reminders.reminders_send(now=paris(2025, 3, 6, 10, 0))  # three days before: too early by default
    assert reminded("period.closing_soon") == {}

    switch_off(collective, declare_days_before=3)
    reminders.reminders_send(now=paris(2025, 3, 6, 10, 0))
    assert reminded("period.closing_soon") == {"david@example.org": 1}


def test_no_declare_reminder_for_a_closed_period_or_after_its_end(collective, contributor, period):
    reminders.reminders_send(now=paris(2025, 3, 10, 9, 0))  # the day after its end
    Period.objects.filter(pk=period.pk).update(status=PeriodStatus.CLOSED)
    reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
    assert reminded("period.closing_soon") == {}


def test_the_declare_reminder_can_be_switched_off(collective, contributor, period):
    switch_off(collective, declare_enabled=False)
    reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
    assert reminded("period.closing_soon") == {}

    ReminderSettings.objects.filter(collective=collective).update(declare_enabled=True)
    reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
    assert reminded("period.closing_soon") == {"david@example.org": 1}


def test_running_the_declare_reminder_twice_reminds_nobody_twice(
        collective, member, contributor, period, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
        second = reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
        third = reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END + timedelta(days=1))
    assert first == 2 and second == 0 and third == 0
    assert reminded("period.closing_soon") == {"bob@example.org": 1, "david@example.org": 1}
    assert sorted(m.to[0] for m in mailoutbox) == ["bob@example.org", "david@example.org"]


def test_a_run_that_died_halfway_is_finished_by_the_next_without_repeating(
        collective, contributor, period, monkeypatch):
    """Two periods end this week; the run dies after reminding of the first: the next reminds of the second only."""
    other = period_for_date(budget=make_budget(collective, name="Café"), day=MONDAY)
    import contributions.reminders as declare_reminders

    real_notify = declare_reminders.notify
    calls = []

    def dies_on_the_second(**kwargs):
        calls.append(kwargs["occasion"])
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real_notify(**kwargs)

    monkeypatch.setattr(declare_reminders, "notify", dies_on_the_second)
    reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
    assert Notification.objects.filter(kind="period.closing_soon").count() == 1

    monkeypatch.setattr(declare_reminders, "notify", real_notify)
    reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
    reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END)
    occasions = sorted(Notification.objects.filter(kind="period.closing_soon").values_list("occasion", flat=True))
    assert occasions == sorted([f"period.closing_soon:{period.pk}", f"period.closing_soon:{other.pk}"])


# --- declarations waiting for review -------------------------------------------------------------------------------


@pytest.fixture
def third_coordinator(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="ines@example.org", name="Inès"),
                             roles=[Role.COORDINATOR.value]).user


@pytest.fixture
def second_coordinator(collective):
    """Farid coordinates and declares work too."""
    return MembershipFactory(collective=collective, user=UserFactory(email="farid@example.org", name="Farid"),
                             roles=[Role.COORDINATOR.value, Role.CONTRIBUTOR.value]).user


def waiting_since(contribution, moment):
    Contribution.objects.filter(pk=contribution.pk).update(created_at=moment)


def test_reviewers_are_reminded_of_declarations_waiting_but_not_the_author_nor_who_approved(
        collective, coordinator, second_coordinator, third_coordinator, member, period):
    """Farid's declaration needs two approvals; Alice gave hers: only Inès has something to review."""
    period.budget.required_approvals = 2
    period.budget.save(update_fields=["required_approvals"])
    now = timezone.now()
    farids = declare(collective, second_coordinator, period.budget, description="Coordination")
    contribution_validate(contribution=farids,
                          membership=Membership.objects.get(collective=collective, user=coordinator))
    waiting_since(farids, now - timedelta(days=4))

    reminders.reminders_send(now=now)

    assert reminded("review.waiting") == {"ines@example.org": 1}
    notification = Notification.objects.get(kind="review.waiting")
    assert notification.params["count"] == 1
    assert notification.url.startswith(f"/c/{collective.slug}/contributions/")


def test_the_review_reminder_counts_each_reviewers_own_waiting_declarations(
        collective, coordinator, second_coordinator, member, period):
    now = timezone.now()
    bobs = declare(collective, member, period.budget)
    farids = declare(collective, second_coordinator, period.budget, description="Coordination")
    for contribution in (bobs, farids):
        waiting_since(contribution, now - timedelta(days=4))

    reminders.reminders_send(now=now)

    assert reminded("review.waiting") == {"alice@example.org": 1, "farid@example.org": 1}
    counts = dict(Notification.objects.filter(kind="review.waiting").values_list("recipient__email", "params__count"))
    assert counts == {"alice@example.org": 2, "farid@example.org": 1}


def test_no_review_reminder_before_n_days_of_waiting(collective, coordinator, member, period):
    now = timezone.now()
    bobs = declare(collective, member, period.budget)
    waiting_since(bobs, now - timedelta(days=2, hours=23))
    reminders.reminders_send(now=now)
    assert reminded("review.waiting") == {}

    switch_off(collective, review_after_days=2)
    reminders.reminders_send(now=now)
    assert reminded("review.waiting") == {"alice@example.org": 1}


def test_running_the_review_reminder_twice_reminds_nobody_twice(collective, coordinator, member, period):
    now = timezone.now()
    waiting_since(declare(collective, member, period.budget), now - timedelta(days=4))
    reminders.reminders_send(now=now)
    reminders.reminders_send(now=now)
    reminders.reminders_send(now=now + timedelta(hours=1))
    assert reminded("review.waiting") == {"alice@example.org": 1}


def test_the_review_reminder_can_be_switched_off(collective, coordinator, member, period):
    now = timezone.now()
    waiting_since(declare(collective, member, period.budget), now - timedelta(days=4))
    switch_off(collective, review_enabled=False)
    reminders.reminders_send(now=now)
    assert reminded("review.waiting") == {}


def test_no_review_reminder_for_decided_declarations(collective, coordinator, member, period):
    now = timezone.now()
    bobs = declare(collective, member, period.budget)
    contribution_validate(contribution=bobs, membership=Membership.objects.get(collective=collective, user=coordinator))
    waiting_since(bobs, now - timedelta(days=4))
    reminders.reminders_send(now=now)
    assert reminded("review.waiting") == {}


# --- money left in a wallet before a round closes ------------------------------------------------------------------


@pytest.fixture
def closes_at():
    return (timezone.now() + timedelta(days=10)).replace(microsecond=0)


@pytest.fixture
def round(collective, coordinator, member, accountant, contributor, closes_at):
    """Alice and Bob (the holders of the member role) have 100.00 each; Bob gives all of his to a bucket."""
    draft = cobudget.round_create(collective=collective, actor=coordinator, name="Round 2026", envelope_policy="equal",
                                  envelope_amount=Decimal("100.00"), funding_closes_at=closes_at)
    opened = cobudget.round_open(round=draft, actor=coordinator)
    bucket = cobudget.bucket_create(round=opened, actor=coordinator, title="Jardin",
                                    lines=[{"description": "Tout", "min_amount": "500.00", "max_amount": None}])
    bucket = cobudget.bucket_propose(bucket=bucket, actor=coordinator)
    cobudget.allocation_create(bucket=bucket, actor=member, amount="100.00")
    cobudget.allocation_create(bucket=bucket, actor=coordinator, amount="30.00")
    return opened


def test_participants_with_money_left_are_reminded_48_hours_before_the_round_closes(round, closes_at):
    reminders.reminders_send(now=closes_at - timedelta(hours=49))
    assert reminded("round.closing_soon") == {}

    reminders.reminders_send(now=closes_at - timedelta(hours=47))
    assert reminded("round.closing_soon") == {"alice@example.org": 1}
    notification = Notification.objects.get(kind="round.closing_soon")
    assert Decimal(notification.params["left"]) == Decimal("70.00")
    assert str(round.pk) in notification.url


def test_running_the_wallet_reminder_twice_reminds_nobody_twice(round, closes_at):
    for hours in (47, 47, 30, 2):
        reminders.reminders_send(now=closes_at - timedelta(hours=hours))
    assert reminded("round.closing_soon") == {"alice@example.org": 1}


def test_no_wallet_reminder_once_the_round_closed_or_when_switched_off(collective, round, closes_at):
    switch_off(collective, wallet_enabled=False)
    reminders.reminders_send(now=closes_at - timedelta(hours=47))
    assert reminded("round.closing_soon") == {}

    ReminderSettings.objects.filter(collective=collective).update(wallet_enabled=True)
    reminders.reminders_send(now=closes_at + timedelta(minutes=1))
    assert reminded("round.closing_soon") == {}


def test_a_provider_that_fails_does_not_stop_the_others_and_is_finished_next_run(
        collective, round, closes_at, contributor, period, monkeypatch):
    """The wallet reminder fails once (the worker died there): the next run sends it, and nothing else twice."""
    import cobudget.reminders as wallet_reminders

    real = wallet_reminders.notify_each
    monkeypatch.setattr(wallet_reminders, "notify_each", lambda **kwargs: 1 / 0)
    now = closes_at - timedelta(hours=47)
    # The declare reminder fires at the same run: put the period's end two days after `now`.
    Period.objects.filter(pk=period.pk).update(
        starts_on=timezone.localdate(now) - timedelta(days=5), ends_on=timezone.localdate(now) + timedelta(days=1))
    reminders.reminders_send(now=now)
    assert reminded("round.closing_soon") == {}
    assert reminded("period.closing_soon") == {"bob@example.org": 1, "david@example.org": 1}

    monkeypatch.setattr(wallet_reminders, "notify_each", real)
    reminders.reminders_send(now=now + timedelta(hours=1))
    assert reminded("round.closing_soon") == {"alice@example.org": 1}
    assert reminded("period.closing_soon") == {"bob@example.org": 1, "david@example.org": 1}


# --- settled periods to lock at the end of a month -----------------------------------------------------------------


@pytest.fixture
def settled_period(collective, coordinator):
    """A closed period without unpaid payouts: settled, not locked."""
    budget = make_budget(collective, name="Tiers-lieu 2025", starts_on=date(2025, 1, 1), ends_on=date(2025, 1, 7))
    return Period.objects.create(collective=collective, budget=budget, index=0, starts_on=date(2025, 1, 1),
                                 ends_on=date(2025, 1, 7), status=PeriodStatus.CLOSED, available=Decimal("0.00"),
                                 closed_by=coordinator)


def test_accountants_are_reminded_of_settled_periods_not_locked_on_the_last_day_of_the_month(
        collective, coordinator, member, accountant, settled_period):
    reminders.reminders_send(now=paris(2025, 3, 30, 12, 0))
    assert reminded("period.to_lock") == {}

    reminders.reminders_send(now=paris(2025, 3, 31, 12, 0))
    assert reminded("period.to_lock") == {"carol@example.org": 1}
    assert Notification.objects.get(kind="period.to_lock").params["count"] == 1


def test_the_lock_reminder_follows_the_collectives_time_zone(collective, accountant, settled_period):
    # 23:30 on 31 March in UTC is already 1 April in Paris: not the last day of the month there.
    reminders.reminders_send(now=paris(2025, 4, 1, 1, 30))
    assert reminded("period.to_lock") == {}


def test_the_lock_reminder_goes_once_a_month(collective, accountant, settled_period):
    for moment in (paris(2025, 3, 31, 0, 5), paris(2025, 3, 31, 12, 0), paris(2025, 3, 31, 23, 55)):
        reminders.reminders_send(now=moment)
    assert reminded("period.to_lock") == {"carol@example.org": 1}

    reminders.reminders_send(now=paris(2025, 4, 30, 12, 0))
    assert reminded("period.to_lock") == {"carol@example.org": 2}


def test_no_lock_reminder_for_locked_periods_or_when_switched_off(collective, accountant, settled_period):
    switch_off(collective, lock_enabled=False)
    reminders.reminders_send(now=paris(2025, 3, 31, 12, 0))
    assert reminded("period.to_lock") == {}

    ReminderSettings.objects.filter(collective=collective).update(lock_enabled=True)
    Period.objects.filter(pk=settled_period.pk).update(locked_at=timezone.now())
    reminders.reminders_send(now=paris(2025, 3, 31, 12, 0))
    assert reminded("period.to_lock") == {}


def test_switching_one_reminder_off_leaves_the_others(collective, accountant, contributor, settled_period):
    period = period_for_date(budget=make_budget(collective, name="Café", starts_on=date(2025, 3, 24)),
                             day=date(2025, 3, 24))
    assert period.ends_on == date(2025, 3, 30)
    switch_off(collective, lock_enabled=False)
    reminders.reminders_send(now=paris(2025, 3, 28, 12, 0))
    reminders.reminders_send(now=paris(2025, 3, 31, 12, 0))
    assert reminded("period.closing_soon") == {"david@example.org": 1}
    assert reminded("period.to_lock") == {}


# --- what the reminders say, and concurrent runs -------------------------------------------------------------------


def test_each_reminder_reads_well_in_the_inbox(api, collective, coordinator, accountant, member, contributor, period,
                                               round, closes_at, settled_period):
    now = closes_at - timedelta(hours=47)
    waiting_since(declare(collective, contributor, period.budget), now - timedelta(days=4))
    Period.objects.filter(pk=period.pk).update(ends_on=timezone.localdate(now) + timedelta(days=1))
    reminders.reminders_send(now=now)
    assert set(Notification.objects.values_list("kind", flat=True)) >= {
        "period.closing_soon", "review.waiting", "round.closing_soon"}

    def texts(user):
        response = api(user).get("/api/v1/me/notifications/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        return {item["kind"]: item["text"] for item in response.json()["results"]}

    assert "Tiers-lieu" in texts(member)["period.closing_soon"]
    assert "1 declaration has waited more than 3 days for your review in La Fabrique." in texts(coordinator)[
        "review.waiting"]
    wallet = texts(coordinator)["round.closing_soon"]
    assert "Round 2026" in wallet and "70" in wallet


def test_the_lock_reminder_reads_well(api, collective, accountant, settled_period):
    reminders.reminders_send(now=paris(2025, 3, 31, 12, 0))
    [item] = api(accountant).get("/api/v1/me/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    assert item["text"].startswith("1 settled period of La Fabrique is not locked yet")


@pytest.mark.django_db(transaction=True)
def test_concurrent_beat_runs_remind_each_person_once(collective, member, contributor, mailoutbox):
    from tests.threads import run_concurrently

    period_for_date(budget=make_budget(collective), day=MONDAY)
    results, errors = run_concurrently(lambda _i: reminders.reminders_send(now=TWO_DAYS_BEFORE_THE_END), 5)
    assert errors == []
    assert sum(results) == 2
    assert reminded("period.closing_soon") == {"bob@example.org": 1, "david@example.org": 1}
    assert sorted(m.to[0] for m in mailoutbox) == ["bob@example.org", "david@example.org"]
