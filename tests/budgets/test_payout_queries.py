"""The payouts' pages and endpoints read the same number of queries for 2 payouts or 8 (issue 12: one query per
payout for its collective's currency made a closed period of 10,000 payouts take 10,013)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from budgets.models import Payout
from contributions.closing import period_close
from tests.query_plans import plan_without_scans_or_sorts

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


def test_a_page_of_payouts_is_read_in_the_lists_order_from_an_index(api, collective, coordinator):
    """The lists order payouts by their period's end, then by id. Sorted through a join to the periods, a page cost
    45-65 ms among 229,000 payouts; each payout now carries its period's end, written by the database, and the
    page comes from an index in that order. (The planner is kept off sequential scans and sorts: with a test's few
    rows it would pick them.)"""
    monthly = make_budget(collective, coordinator, name="Mois", period_kind="month", starts_on=date(2025, 1, 1))
    weekly = make_budget(collective, coordinator, name="Semaine")
    declare(monthly, person(collective, 1), "10.00")
    period_close(period=period_at(monthly, 0), actor=coordinator)  # ends on 31 January: closed first, lower ids
    for index in (0, 1):
        period = period_at(weekly, index)
        declare(weekly, person(collective, 2 + index), "10.00", day=period.starts_on)
        period_close(period=period, actor=coordinator)
    assert all(payout.period_ends_on == payout.period.ends_on for payout in Payout.objects.select_related("period"))

    for query in ("", "?state=payable"):
        with CaptureQueriesContext(connection) as queries:
            listed = api(coordinator).get(reverse("api-payouts", kwargs={"collective_slug": collective.slug}) + query)
        rows = listed.json()["results"]
        ends = {payout.pk: payout.period.ends_on for payout in Payout.objects.select_related("period")}
        assert [row["id"] for row in rows] == sorted(ends, key=lambda pk: (ends[pk], pk))
        page_ids = next(q["sql"] for q in queries.captured_queries
                        if 'ORDER BY "budgets_payout"."period_ends_on"' in q["sql"] and " LIMIT " in q["sql"])
        plan = plan_without_scans_or_sorts(page_ids, "budgets_payout")
        assert "payout_listed_idx" in plan or "payout_payable_idx" in plan, plan
        assert "Sort" not in plan, plan
