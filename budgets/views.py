"""Pages of budgets, fundings, envelopes, tasks, closings and payouts.

Each view parses the request, calls one service, renders. A DomainError from a
service becomes a form error or a message, never a server error.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.paging import IdsFirst
from contrib_budget.tenancy import role_required
from contrib_budget.text import parse_id
from members.models import Role

from . import charts, fundings, outcomes, selectors, services
from .explanations import payout_explanation
from .forms import BudgetForm, EnvelopeForm, FundingForm, MarkPaidForm, RateGridFormSet, TaskForm, rate_levels_from
from .models import Budget, Envelope, Funding, Period
from .payouts import payouts_mark_paid as payouts_mark_paid_service
from .permissions import CANCEL_FUNDINGS, CORRECT_GRANTS, MANAGE_BUDGETS, PAY_PAYOUTS

COORDINATOR = Role.COORDINATOR
PAGE_SIZE = 50
# The budget page lists its periods, fundings and envelopes a page at a time, each with its own page parameter.
SECTION_PAGE_SIZE = 20
# Each envelope shows its first tasks by priority and says how many more it has.
TASKS_PER_ENVELOPE = 10


def _budget(request, budget_id) -> Budget:
    return get_object_or_404(selectors.budgets_with_money(request.collective), pk=budget_id)


def _period(request, period_id) -> Period:
    return get_object_or_404(Period.objects.of(request.collective).select_related("budget"), pk=period_id)


def _payouts_page(request, payouts):
    """One page of payouts, each with its explanation: however many a period or a collective has."""
    page = Paginator(payouts, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for payout in page.object_list:
        payout.explanation = payout_explanation(payout)
    return page


def budget_list(request, collective_slug):
    budgets = selectors.budgets_with_money(request.collective)
    return render(request, "budgets/budget_list.html", {
        "page": Paginator(budgets, PAGE_SIZE).get_page(request.GET.get("page")),
        "is_coordinator": request.membership.has_role(COORDINATOR),
    })


def _query_without(request, name: str) -> str:
    """The page's query string without `name`: each list's links keep the other lists' pages."""
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()


def _periods_section(request, budget) -> dict:
    """A page of the budget's periods (by default the page of its current period) with their figures, and the
    latest periods for the chart: both computed together, however many periods the budget has."""
    today = timezone.localdate()
    paginator = Paginator(selectors.periods_of_budget(budget), SECTION_PAGE_SIZE)
    current_page = max(selectors.periods_started_count(budget, today) - 1, 0) // SECTION_PAGE_SIZE + 1
    page = paginator.get_page(request.GET.get("periods_page") or current_page)
    shown = [period.pk for period in page.object_list]
    charted = selectors.periods_charted(budget, today, count=charts.CHARTED_PERIODS)
    figured = selectors.periods_figured([*shown, *charted])
    page.object_list = [figured[pk] for pk in shown]
    return {
        "periods_page": page, "periods": page.object_list,
        "periods_chart": charts.periods_chart(sorted((figured[pk] for pk in charted), key=lambda p: p.index),
                                              uid=f"budget-{budget.pk}-periods", currency=request.collective.currency),
        "periods_query": _query_without(request, "periods_page"),
    }


def _envelopes_section(request, budget, *, is_coordinator: bool) -> dict:
    """A page of the budget's envelopes, each with its first tasks and how many it has (the unpublished ones
    for coordinators only), and for coordinators a form to add a task to each."""
    envelopes = selectors.envelopes_of_budget(budget, published_only=not is_coordinator)
    page = Paginator(envelopes, SECTION_PAGE_SIZE).get_page(request.GET.get("envelopes_page"))
    page.object_list = list(page.object_list)
    tasks = selectors.tasks_first_of([envelope.pk for envelope in page.object_list],
                                     published_only=not is_coordinator, count=TASKS_PER_ENVELOPE)
    for envelope in page.object_list:
        envelope.task_list = tasks.get(envelope.pk, [])
        envelope.tasks_not_shown = envelope.task_count - len(envelope.task_list)
        if is_coordinator:
            envelope.task_form = TaskForm(initial={"envelope": envelope.pk}, auto_id=f"id_task_{envelope.pk}_%s")
    return {"envelopes_page": page, "envelopes": page.object_list,
            "envelopes_query": _query_without(request, "envelopes_page")}


def budget_detail(request, collective_slug, budget_id):
    budget = _budget(request, budget_id)
    is_coordinator = request.membership.has_role(COORDINATOR)
    fundings = Funding.objects.of(request.collective).filter(budget=budget).order_by("created_at", "id")
    fundings_page = Paginator(fundings, SECTION_PAGE_SIZE).get_page(request.GET.get("fundings_page"))
    return render(request, "budgets/budget_detail.html", {
        "budget": budget,
        "money_chart": charts.budget_money_gauge(budget, currency=request.collective.currency),
        **_periods_section(request, budget),
        **_envelopes_section(request, budget, is_coordinator=is_coordinator),
        "fundings_page": fundings_page, "fundings": fundings_page.object_list,
        "fundings_query": _query_without(request, "fundings_page"),
        "is_coordinator": is_coordinator,
        "envelope_form": EnvelopeForm(),
    })


def _budget_form_page(request, *, budget=None):
    if budget is None:
        initial, grid = {}, []
    else:
        initial = {field: getattr(budget, field) for field in services.BUDGET_FIELDS}
        grid = [{"id": level.pk, "name": level.name, "hourly_rate": level.hourly_rate}
                for level in budget.rate_levels.all()]
    form = BudgetForm(request.POST or None, initial=initial)
    formset = RateGridFormSet(request.POST or None, initial=grid, prefix="rates")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            if budget is None:
                budget = services.budget_create(collective=request.collective, actor=request.user,
                                                rate_levels=rate_levels_from(formset), **form.cleaned_data)
                messages.success(request, _("The budget %(name)s is created.") % {"name": budget.name})
            else:
                budget = services.budget_update(budget=budget, actor=request.user,
                                                rate_levels=rate_levels_from(formset), **form.cleaned_data)
                messages.success(request, _("The budget is saved."))
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return redirect("budget_detail", request.collective.slug, budget.pk)
    return render(request, "budgets/budget_form.html", {"form": form, "formset": formset, "budget": budget})


@role_required(*MANAGE_BUDGETS.roles)
def budget_create(request, collective_slug):
    return _budget_form_page(request)


@role_required(*MANAGE_BUDGETS.roles)
def budget_edit(request, collective_slug, budget_id):
    return _budget_form_page(request, budget=_budget(request, budget_id))


@role_required(*MANAGE_BUDGETS.roles)
def funding_create(request, collective_slug, budget_id):
    budget = _budget(request, budget_id)
    form = FundingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fundings.funding_create(budget=budget, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The funding is added."))
            return redirect("budget_detail", request.collective.slug, budget.pk)
    return render(request, "budgets/funding_form.html", {"form": form, "budget": budget})


@require_POST
@role_required(*MANAGE_BUDGETS.roles)
def funding_receive(request, collective_slug, budget_id, funding_id):
    funding = get_object_or_404(Funding.objects.of(request.collective), pk=funding_id, budget_id=budget_id)
    try:
        fundings.funding_receive(funding=funding, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("%(source)s is marked received.") % {"source": funding.source})
    return redirect("budget_detail", request.collective.slug, budget_id)


@require_POST
@role_required(*MANAGE_BUDGETS.roles)
def envelope_create(request, collective_slug, budget_id):
    budget = _budget(request, budget_id)
    form = EnvelopeForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(error_text(form))
        services.envelope_create(budget=budget, actor=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("The envelope is added."))
    return redirect("budget_detail", request.collective.slug, budget.pk)


@require_POST
@role_required(*MANAGE_BUDGETS.roles)
def task_create(request, collective_slug, budget_id):
    budget = _budget(request, budget_id)
    form = TaskForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(error_text(form))
        data = dict(form.cleaned_data)
        data["envelope"] = Envelope.objects.of(request.collective).filter(budget=budget, pk=data["envelope"]).first()
        if data["envelope"] is None:
            raise DomainError(_("Choose an envelope of this budget."))
        services.task_create(budget=budget, actor=request.user, **data)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("The task is published."))
    return redirect("budget_detail", request.collective.slug, budget.pk)


def period_payouts(request, collective_slug, period_id):
    period = _period(request, period_id)
    figures = selectors.period_with_figures(period)
    page = _payouts_page(request, selectors.payouts_of_period(period))
    return render(request, "budgets/period_payouts.html", {
        "period": figures, "budget": period.budget,
        "page": page, "payouts": page.object_list,
        "is_coordinator": request.membership.has_role(COORDINATOR),
        "can_pay": request.membership.has_role(*PAY_PAYOUTS.roles),
        "can_correct": request.membership.has_role(*CORRECT_GRANTS.roles),
    })


PAYOUT_STATES = ("payable", "owed", "sent", "paid", "reversed")


# The collective's list of payouts to pay: the work of those who pay them (each person sees their own under
# "My earnings").
@role_required(*PAY_PAYOUTS.roles)
def payouts(request, collective_slug):
    state = request.GET.get("state", "payable")
    state = state if state in PAYOUT_STATES else "payable"
    page = _payouts_page(request, IdsFirst(selectors.payouts_of_collective(request.collective, state=state)))
    return render(request, "budgets/payouts.html", {
        "page": page, "payouts": page.object_list, "query": urlencode({"state": state}),
        "state": state, "states": PAYOUT_STATES,
        "can_pay": request.membership.has_role(*PAY_PAYOUTS.roles),
        "can_correct": request.membership.has_role(*CORRECT_GRANTS.roles),
        "today": timezone.localdate(),
    })


@require_POST
@role_required(*PAY_PAYOUTS.roles)
def payouts_mark_paid(request, collective_slug):
    ids = [pk for pk in map(parse_id, request.POST.getlist("payouts")) if pk is not None]
    form = MarkPaidForm(request.POST, payout_ids=ids)
    if not form.is_valid():
        messages.error(request, error_text(form))
    else:
        try:
            done = payouts_mark_paid_service(collective=request.collective, payout_ids=form.cleaned_data["payouts"],
                                             actor=request.user, paid_on=form.cleaned_data["paid_on"],
                                             reference=form.cleaned_data["reference"])
        except DomainError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, outcomes.payouts_paid_outcome(done, currency=request.collective.currency))
    return redirect_back(request, "payouts")


def redirect_back(request, fallback: str):
    """To the page the form came from (its `next`, when it is one of ours), else to the collective's `fallback`."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback, request.collective.slug)


@require_POST
@role_required(*CANCEL_FUNDINGS.roles)
def funding_cancel(request, collective_slug, budget_id, funding_id):
    funding = get_object_or_404(Funding.objects.of(request.collective), pk=funding_id, budget_id=budget_id)
    try:
        fundings.funding_cancel(funding=funding, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, outcomes.funding_cancelled_outcome(funding, request.collective.currency))
    return redirect("budget_detail", request.collective.slug, budget_id)
