"""My earnings, as a page and in the API: what I declared and what closings granted me, across my collectives."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from budgets import charts as budget_charts
from budgets.api import money_field
from budgets.selectors import payouts_of_person

from . import earnings

EARNINGS_LISTED = 50


@login_required
def my_earnings(request):
    rows = earnings.earnings_of(request.user)
    collectives = [row["collective"] for row in rows]
    totals = earnings.earnings_totals(rows)
    months = earnings.earnings_by_month(request.user, collectives)
    for total in totals:
        uid = f"earnings-{total['currency'].lower()}"
        total["states_chart"] = budget_charts.payout_states_gauge(total, uid=f"{uid}-states")
        total["months_chart"] = budget_charts.earnings_chart(months, currency=total["currency"], uid=f"{uid}-months")
    return render(request, "budgets/earnings.html", {
        "rows": rows, "totals": totals,
        "under_review": earnings.under_review_totals(request.user, collectives),
        "pending": earnings.declarations_under_review(request.user, collectives)[:EARNINGS_LISTED],
        "payouts": payouts_of_person(request.user, collectives)[:EARNINGS_LISTED],
    })


EARNINGS_FIGURES = ("declared", "granted", "owed", "payable", "paid")


class EarningsView(APIView):
    """My declared, granted, owed, payable and paid totals across all my collectives."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=inline_serializer("Earnings", {
        "totals": inline_serializer("EarningsTotal", {
            "currency": serializers.CharField(), **{name: money_field() for name in EARNINGS_FIGURES}}, many=True),
        "collectives": inline_serializer("EarningsOfCollective", {
            "collective": serializers.CharField(), "name": serializers.CharField(),
            "currency": serializers.CharField(), **{name: money_field() for name in EARNINGS_FIGURES}}, many=True),
    }))
    def get(self, request):
        rows = earnings.earnings_of(request.user)
        money = money_field()

        def figures(row):
            return {name: money.to_representation(row[name]) for name in EARNINGS_FIGURES}

        return Response({
            "totals": [{"currency": t["currency"], **figures(t)} for t in earnings.earnings_totals(rows)],
            "collectives": [{"collective": r["collective"].slug, "name": r["collective"].name,
                             "currency": r["collective"].currency, **figures(r)} for r in rows],
        })
