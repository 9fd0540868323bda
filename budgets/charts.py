"""The budgets' charts, built with contrib_budget/charts.py: a budget's money, its periods over time, a period's
requests against its money, and a person's earnings by month and by payment state."""

from collections.abc import Sequence
from datetime import date

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from contrib_budget import charts
from contrib_budget.charts import BLUE, GREEN, ORANGE, SLATE, BarChart, ColumnChart, Series
from contrib_budget.money import ZERO

# A budget's page charts its latest periods; the table below it lists them all.
CHARTED_PERIODS = 12
CHARTED_MONTHS = 12
# A period's label under its column: short, and enough to tell it from its neighbours.
AXIS_FORMATS = {"week": "j N", "month": "N y", "quarter": "N y", "year": "Y", "none": "j N Y"}


def budget_money_gauge(budget, *, currency: str) -> BarChart:
    """Money in (received, promised) above money out (granted, left), on one scale. `budget` carries the
    totals of `selectors.budgets_with_money`."""
    left = budget.received_total + budget.pledged_total - budget.granted_total
    received = Series("received", _("Received"), GREEN)
    promised = Series("pledged", _("Promised"), GREEN, hatched=True)
    granted = Series("granted", _("Granted"), BLUE)
    remaining = Series("remaining", _("Left"), SLATE, hatched=True)
    return charts.gauge([
        (_("Money in"), [(received, budget.received_total), (promised, budget.pledged_total)]),
        (_("Money out"), [(granted, budget.granted_total), (remaining, left)]),
    ], uid=f"budget-{budget.pk}-money", currency=currency)


def period_name(period) -> str:
    """"6 Jan 2025 – 12 Jan 2025"; a period without an end (a single open period) "from 6 Jan 2025"."""
    start = date_format(period.starts_on, "DATE_FORMAT")
    if period.ends_on.year == 9999:
        return _("from %(start)s") % {"start": start}
    return f"{start} – {date_format(period.ends_on, 'DATE_FORMAT')}"


def period_requests_bar(period, *, currency: str) -> BarChart:
    """What a period's declarations ask for against the money it has (`period` carries
    `selectors.with_figures`)."""
    requested = Series("requested", _("Requested"), ORANGE if period.over else BLUE)
    return charts.progress([(requested, period.requested)], goals=[(_("available"), period.available_now)],
                           uid=f"period-{period.pk}-requests", currency=currency)


def periods_chart(periods: Sequence, *, uid: str, currency: str) -> ColumnChart:
    """Each period's money available, requested, validated and granted, side by side, over its latest periods
    (those started, else the first ones)."""
    today = timezone.localdate()
    started = [period for period in periods if period.starts_on <= today] or list(periods)
    shown = started[-CHARTED_PERIODS:]
    series = [Series("available", _("Available"), SLATE, hatched=True), Series("requested", _("Requested"), ORANGE),
              Series("validated", _("Validated"), BLUE), Series("granted", _("Granted"), GREEN)]
    return charts.column_chart(
        [(period_name(period), date_format(period.starts_on, AXIS_FORMATS.get(period.budget.period_kind, "j N")),
          [period.available_now or ZERO, period.requested, period.validated, period.granted]) for period in shown],
        series=series, uid=uid, currency=currency,
        description=_("Money available, requested, validated and granted in each of the %(count)s periods shown.")
        % {"count": len(shown)},
    )


def payout_states_gauge(total: dict, *, uid: str) -> BarChart:
    """What closings granted a person, by how far it is paid: paid, payable (money received) and owed (backed
    by promised money). `total` is one of `selectors.earnings_totals`."""
    parts = [(Series("paid", _("Paid"), GREEN), total["paid"]),
             (Series("payable", _("Payable"), BLUE), total["payable"]),
             (Series("owed", _("Owed"), ORANGE, hatched=True), total["owed"])]
    return charts.gauge([(_("Granted"), parts)], uid=uid, currency=total["currency"])


def earnings_chart(rows: Sequence[dict], *, currency: str, uid: str) -> ColumnChart:
    """Granted per month of work, stacked by collective, for the collectives in `currency`, over the latest
    months with grants. `rows`: {"month": date (first day), "collective": Collective, "granted": Decimal}."""
    rows = [row for row in rows if row["collective"].currency == currency]
    collectives = sorted({row["collective"] for row in rows}, key=lambda collective: collective.name)
    months = _months(sorted({row["month"] for row in rows}))
    amounts = {(row["month"], row["collective"].pk): row["granted"] for row in rows}
    series = charts.series_cycle([collective.name for collective in collectives], prefix="collective-")
    return charts.column_chart(
        [(date_format(month, "YEAR_MONTH_FORMAT"), date_format(month, "N y"),
          [amounts.get((month, collective.pk), ZERO) for collective in collectives]) for month in months],
        series=series, uid=uid, currency=currency, stacked=True,
        description=_("Granted for my work in each month, by collective, in %(currency)s.") % {"currency": currency},
    )


def _months(present: list[date]) -> list[date]:
    """Every month from the first to the last of `present`, at most the latest CHARTED_MONTHS."""
    if not present:
        return []
    last = present[-1]
    months = []
    year, month = last.year, last.month
    while len(months) < CHARTED_MONTHS:
        current = date(year, month, 1)
        if current < present[0]:
            break
        months.append(current)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))
