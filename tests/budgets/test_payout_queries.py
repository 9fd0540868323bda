"""The payouts' pages and endpoints read the same number of queries for 2 payouts or 8 (issue 12: one query per
payout for its collective's currency made a closed period of 10,000 payouts take 10,013)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from budgets.models import Payout
from contributions.closing import period_close

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db


def _queries(send) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = send()
    assert response.status_code == 200, response.content[:300]
    return len(queries)


def test_payout_pages_and_endpoints_do_not_grow_with_the_payouts(client, api, collective, coordinator):
    budget = make_budget(collective, coordinator, amount_per_period="100000.00", received="100000.00")
    client.force_login(coordinator)
    caller = api(coordinator)
    slug = collective.slug

    def close_with(index: int, count: int) -> dict[str, int]:
        """Close period `index` with `count` payouts, then count the queries of each page and endpoint."""
        period = period_at(budget, index)
        for n in range(count):
            declare(budget, person(collective, 10 * index + n), "10.00", day=period.starts_on)
        period_close(period=period, actor=coordinator)
        assert Payout.objects.filter(period=period).count() == count
        api_kwargs = {"collective_slug": slug}
        return {
            "period page": _queries(lambda: client.get(reverse("period_payouts", args=[slug, period.pk]))),
            "period endpoint": _queries(lambda: caller.get(reverse("api-period-payouts",
                                                                   kwargs={**api_kwargs, "period_id": period.pk}))),
            "payouts page": _queries(lambda: client.get(reverse("payouts", args=[slug]) + "?state=payable")),
            "payouts endpoint": _queries(lambda: caller.get(reverse("api-payouts", kwargs=api_kwargs))),
        }

    assert close_with(0, 2) == close_with(1, 8)
