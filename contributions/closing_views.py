"""The pages where coordinators close a period: at once, or by a decision when its requests exceed the money."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from budgets import outcomes, selectors
from budgets.forms import DecisionForm
from budgets.models import Payout, Period, PeriodStatus
from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.tenancy import role_required

from . import closing
from .models import Contribution, ContributionStatus
from .permissions import CLOSE_PERIODS


def _after_close(request, period):
    if period.status == PeriodStatus.DEFICIT:
        messages.warning(request, _("Requests exceed the money available: record a decision to close this period."))
        return redirect("period_decision", request.collective.slug, period.pk)
    figures = selectors.period_with_figures(period)
    grants = Payout.objects.filter(period=period, granted__gt=0).count()
    messages.success(request, outcomes.period_closed_outcome(figures, grants=grants,
                                                             currency=request.collective.currency))
    return redirect("period_payouts", request.collective.slug, period.pk)


@require_POST
@role_required(*CLOSE_PERIODS.roles)
def period_close(request, collective_slug, period_id):
    period = get_object_or_404(Period.objects.of(request.collective).select_related("budget"), pk=period_id)
    if period.status == PeriodStatus.DEFICIT:
        return redirect("period_decision", request.collective.slug, period.pk)
    try:
        period = closing.period_close(period=period, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("budget_detail", request.collective.slug, period.budget_id)
    return _after_close(request, period)


@role_required(*CLOSE_PERIODS.roles)
def period_decision(request, collective_slug, period_id):
    period = get_object_or_404(Period.objects.of(request.collective).select_related("budget"), pk=period_id)
    if period.status != PeriodStatus.DEFICIT:
        return redirect("period_payouts", request.collective.slug, period.pk)
    requests = list(Contribution.objects.of(request.collective).select_related("author")
                    .filter(period=period, status__in=[ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED])
                    .order_by("author_id", "id"))
    form = DecisionForm(request.POST or None, requests=requests)
    if request.method == "POST" and form.is_valid():
        try:
            period = closing.period_close(period=period, actor=request.user, decision=form.decision())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _after_close(request, period)
    figures = selectors.period_with_figures(period)
    for contribution, field in zip(requests, form.amount_fields(), strict=True):
        contribution.field = field
    return render(request, "budgets/period_decision.html", {
        "period": figures, "budget": period.budget, "form": form, "requests": requests,
        "gap": figures.validated - figures.available_now,
    })
