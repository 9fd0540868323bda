import pytest

from budgets.accounting import services
from budgets.locks import PeriodLocked, ensure_period_unlocked
from budgets.models import PeriodStatus
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
