import io
from datetime import date

import pytest
from django.utils import translation

from accounting import services
from budgets.locks import PeriodLocked, ensure_period_unlocked
from budgets.models import Period, PeriodStatus
from contrib_budget.errors import Conflict, Forbidden

pytestmark = pytest.mark.django_db


def lock_url(period) -> str:
    return f"/api/v1/collectives/{period.collective.slug}/periods/{period.pk}/lock/"


def test_an_accountant_locks_a_closed_period_and_changes_are_then_refused(closed_period, accountant):
    ensure_period_unlocked(closed_period)
    locked = services.period_lock(period=closed_period, actor=accountant)
    assert locked.locked_at and locked.locked_by == accountant
    with pytest.raises(PeriodLocked) as error:
        ensure_period_unlocked(closed_period)
    assert error.value.code == "period_locked" and error.value.status_code == 409
    with pytest.raises(Conflict):
        services.period_lock(period=closed_period, actor=accountant)


def test_only_closed_periods_can_be_locked_and_only_by_accountants(closed_period, accountant, coordinator):
    with pytest.raises(Forbidden):
        services.period_lock(period=closed_period, actor=coordinator)
    closed_period.status = PeriodStatus.OPEN
    closed_period.save()
    with pytest.raises(Conflict) as error:
        services.period_lock(period=closed_period, actor=accountant)
    assert error.value.code == "period_not_closed"


def test_lock_through_the_api(closed_period, accountant, coordinator, outsider, api):
    assert api(outsider).post(lock_url(closed_period)).status_code == 404
    assert api(coordinator).post(lock_url(closed_period)).status_code == 403
    response = api(accountant).post(lock_url(closed_period))
    assert response.status_code == 200 and response.json()["locked_at"]
    again = api(accountant).post(lock_url(closed_period))
    assert again.status_code == 409 and again.json()["code"] == "period_locked"


def pay_all(period, accountant):
    from budgets.models import Payout
    from budgets.payouts import payouts_mark_paid

    unpaid = list(Payout.objects.filter(period=period, paid_on__isnull=True, granted__gt=0)
                  .values_list("pk", flat=True))
    payouts_mark_paid(collective=period.collective, payout_ids=unpaid, actor=accountant, paid_on=date(2025, 4, 20))


@pytest.fixture
def locked_period(granted_period, accountant):
    pay_all(granted_period, accountant)
    return services.period_lock(period=granted_period, actor=accountant)


def test_a_period_with_unpaid_payouts_cannot_be_locked_and_the_refusal_says_what_is_missing(
    granted_period, accountant, api, client
):
    with pytest.raises(Conflict) as error, translation.override("en"):
        services.period_lock(period=granted_period, actor=accountant)
    assert error.value.code == "period_not_settled"
    assert "2 payouts (€900.00, of which €0.00 still owed) are not paid yet" in error.value.message
    response = api(accountant).post(lock_url(granted_period), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert response.json()["code"] == "period_not_settled" and set(response.json()["fields"]) == {"unpaid"}
    client.force_login(accountant)
    page = client.post(f"/c/{granted_period.collective.slug}/accounting/periods/{granted_period.pk}/lock/",
                       HTTP_ACCEPT_LANGUAGE="en", follow=True).content.decode()
    assert "cannot be locked until its money is settled" in page
    granted_period.refresh_from_db()
    assert granted_period.locked_at is None
    pay_all(granted_period, accountant)
    assert services.period_lock(period=granted_period, actor=accountant).locked_at


def test_a_period_whose_grants_are_not_all_posted_cannot_be_locked(closed_period, contributor, accountant):
    from tests.accounting.conftest import declare

    declare(closed_period, contributor, "250.00", "250.00", "Affiches", paid_on=date(2025, 4, 10))
    with pytest.raises(Conflict) as error, translation.override("en"):
        services.period_lock(period=closed_period, actor=accountant)
    assert error.value.code == "period_not_settled" and set(error.value.fields) == {"unposted"}
    assert "1 grant (€250.00) is not posted in the ledger yet" in error.value.message


def test_a_locked_period_refuses_changes_through_the_services(locked_period, contributor, coordinator, accountant):
    from budgets.models import Payout
    from budgets.payouts import payouts_mark_paid
    from contributions.closing import period_close
    from contributions.models import Contribution
    from contributions.services import contribution_amend

    payouts = list(Payout.objects.filter(period=locked_period).values_list("pk", flat=True))
    with pytest.raises(PeriodLocked):
        payouts_mark_paid(collective=locked_period.collective, payout_ids=payouts, actor=accountant,
                          paid_on=date(2025, 6, 1))
    with pytest.raises(PeriodLocked):
        period_close(period=locked_period, actor=coordinator)
    declaration = Contribution.objects.filter(period=locked_period, author=contributor).first()
    with pytest.raises(PeriodLocked):
        contribution_amend(contribution=declaration, actor=contributor, changes={"description": "Rewritten"})
    assert not Payout.objects.filter(pk__in=payouts, paid_on=date(2025, 6, 1)).exists()
    assert Contribution.objects.get(pk=declaration.pk).description != "Rewritten"


def test_a_locked_period_refuses_changes_through_the_api(locked_period, accountant, coordinator, api):
    from budgets.models import Payout

    base = f"/api/v1/collectives/{locked_period.collective.slug}"
    payouts = list(Payout.objects.filter(period=locked_period).values_list("pk", flat=True))
    response = api(accountant).post(f"{base}/payouts/mark-paid/", {"payouts": payouts}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "period_locked"
    response = api(coordinator).post(f"{base}/periods/{locked_period.pk}/close/", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "period_locked"


def blocked_by(pid: int) -> list[int]:
    """The database sessions waiting for a lock that session `pid` holds."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_lock_waits_for_a_write_that_already_passed_the_guard(closed_period, accountant):
    """The guard reads the period FOR SHARE: a lock taken meanwhile waits for that write to commit."""
    import threading
    import time

    from django.db import connection, transaction

    guarded, release, locked = threading.Event(), threading.Event(), threading.Event()
    sessions = {}

    def session_pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    def write():
        try:
            with transaction.atomic():
                ensure_period_unlocked(closed_period)
                sessions["write"] = session_pid()
                guarded.set()
                release.wait(30)
        finally:
            connection.close()

    def lock():
        try:
            guarded.wait(10)
            sessions["lock"] = session_pid()
            services.period_lock(period=closed_period, actor=accountant)
            locked.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=write), threading.Thread(target=lock)]
    for thread in threads:
        thread.start()
    try:
        assert guarded.wait(10)
        # The lock's session is seen waiting in the database for the write's (not merely slow): without the guard's
        # FOR SHARE it would lock at once, and never show up here.
        waiting = []
        for _ in range(100):
            waiting = blocked_by(sessions["write"])
            if waiting or locked.is_set():
                break
            time.sleep(0.1)
        assert "lock" in sessions and waiting == [sessions["lock"]], "the lock did not wait for the write in progress"
        assert not locked.is_set()
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    assert locked.is_set()
    with pytest.raises(PeriodLocked):
        ensure_period_unlocked(closed_period)


def test_a_locked_period_refuses_declarations_amendments_and_reviews_through_services_and_api(
    locked_period, contributor, coordinator, api
):
    from decimal import Decimal

    from contributions.models import Contribution, ContributionStatus
    from contributions.services import (
        Declaration,
        contribution_adjust,
        contribution_declare,
        contribution_question,
        contribution_reject,
        contribution_validate,
    )
    from members.models import Membership

    collective, day = locked_period.collective, locked_period.starts_on
    pending = Contribution.objects.create(
        collective=collective, author=contributor, budget=locked_period.budget, period=locked_period,
        performed_on=day, description="Late", amount=Decimal("40.00"), status=ContributionStatus.PENDING,
        value_mode="self_assessed",
    )
    reviewer = Membership.objects.of(collective).get(user=coordinator)
    declarer = Membership.objects.of(collective).get(user=contributor)
    late_work = Declaration(budget=locked_period.budget, performed_on=day, description="Late work", minutes=60,
                            value_mode="self_assessed", amount=Decimal("30.00"))
    attempts = {
        "declare": lambda: contribution_declare(collective=collective, membership=declarer, declaration=late_work),
        "validate": lambda: contribution_validate(contribution=pending, membership=reviewer),
        "adjust": lambda: contribution_adjust(contribution=pending, membership=reviewer, amount="20.00",
                                              reason="Too much"),
        "reject": lambda: contribution_reject(contribution=pending, membership=reviewer, reason="Not ours"),
        "question": lambda: contribution_question(contribution=pending, actor=coordinator, comment="Why?"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(PeriodLocked):
            attempt()
            pytest.fail(f"{name} went through on a locked period")

    base = f"/api/v1/collectives/{collective.slug}/contributions"
    declared = api(contributor).post(f"{base}/", {
        "budget": locked_period.budget_id, "performed_on": day.isoformat(), "description": "Late work",
        "minutes": 60, "value_mode": "self_assessed", "amount": "30.00",
    }, format="json")
    amended = api(contributor).patch(f"{base}/{pending.pk}/", {"description": "Rewritten"}, format="json")
    reviews = [api(coordinator).post(f"{base}/{pending.pk}/{action}/", body, format="json") for action, body in (
        ("validate", {}), ("adjust", {"amount": "20.00", "reason": "Too much"}), ("reject", {"reason": "Not ours"}),
    )]
    for response in (declared, amended, *reviews):
        assert response.status_code == 409 and response.json()["code"] == "period_locked", response.content
    pending.refresh_from_db()
    assert (pending.status, pending.description, pending.amount) == (ContributionStatus.PENDING, "Late",
                                                                     Decimal("40.00"))
    assert not Contribution.objects.filter(description="Late work").exists()


def test_the_lock_button_is_offered_only_once_the_period_is_settled(client, granted_period, accountant):
    client.force_login(accountant)
    url = f"/c/{granted_period.collective.slug}/accounting/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 payouts of this period are not paid yet" in page and "Lock this period for good" not in page
    pay_all(granted_period, accountant)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not paid yet" not in page and "Lock this period for good" in page


def test_the_demo_pays_its_oldest_closed_period_before_locking_it():
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    locked = Period.objects.get(locked_at__isnull=False)
    assert locked.payouts.filter(granted__gt=0).exists()
    assert not locked.payouts.filter(granted__gt=0, paid_on__isnull=True).exists()
