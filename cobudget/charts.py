"""The cobudget's charts, built with contrib_budget/charts.py: a bucket's funding against its goals, a wallet."""

from decimal import Decimal

from django.utils.translation import gettext as _

from contrib_budget import charts
from contrib_budget.charts import BLUE, GREEN, BarChart, Series
from contrib_budget.money import ZERO


def bucket_funding_bar(bucket, funded: Decimal, *, currency: str) -> BarChart:
    """What a bucket raised against its minimum (dashed line) and its maximum (solid line); a single goal
    when both are equal."""
    goals = [(_("minimum"), bucket.min_goal)]
    if bucket.max_goal != bucket.min_goal:
        goals.append((_("maximum"), bucket.max_goal))
    else:
        goals = [(_("goal"), bucket.min_goal)]
    raised = Series("raised", _("Raised"), GREEN if funded >= bucket.min_goal else BLUE)
    return charts.progress([(raised, funded)], goals=goals, uid=f"bucket-{bucket.pk}-funding", currency=currency)


def wallet_gauge(wallet, *, currency: str) -> BarChart:
    """My envelope in a round: what I gave and what is left to give."""
    left = wallet.account.balance
    return charts.gauge([(_("My wallet"), [
        (Series("given", _("Given"), BLUE), max(wallet.envelope - left, ZERO)),
        (Series("left", _("Left to give"), GREEN, hatched=True), left),
    ])], uid=f"wallet-{wallet.pk}", currency=currency)
