"""The accountant's area: totals that tie out, export requests, downloads, the chart of accounts."""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from budgets.models import Period, PeriodStatus
from budgets.outcomes import period_locked_outcome
from cobudget.models import Round, RoundStatus
from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.tenancy import role_required
from members.models import Role

from . import bank, selectors, services
from .api import export_file_response
from .chart import chart_of
from .dates import DateRange, parse_date
from .forms import (
    AccountingSettingsForm,
    BankStatementForm,
    ChartForm,
    ExportRequestForm,
    PeriodFilterForm,
    PersonalStatementForm,
)
from .models import ExportStatus
from .permissions import ACCOUNTANT_ONLY, IMPORT_FUNDINGS, KEEP_BOOKS

RECENT_EXPORTS = 30


def _exports_context(collective) -> dict:
    exports = list(selectors.exports_of(collective)[:RECENT_EXPORTS])
    active = any(export.status in (ExportStatus.PENDING, ExportStatus.RUNNING) for export in exports)
    return {"exports": exports, "exports_active": active}


@role_required(*KEEP_BOOKS.roles)
def index(request, collective_slug):
    return _index_page(request, PersonalStatementForm(collective=request.collective))


def _index_page(request, statement_form: PersonalStatementForm, status: int = 200):
    collective = request.collective
    filters = PeriodFilterForm(request.GET or None, collective=collective)
    params = filters.params()
    date_range = DateRange(parse_date(params.get("from")), parse_date(params.get("to")), ZoneInfo(collective.timezone))
    closed_periods = selectors.periods_with_settlement(
        Period.objects.of(collective).filter(status=PeriodStatus.CLOSED, **date_range.date_filter_kwargs("ends_on"))
        .select_related("budget", "locked_by").order_by("-ends_on", "-id")
    )
    if params.get("budget"):
        closed_periods = closed_periods.filter(budget_id=params["budget"])
    return render(request, "accounting/index.html", {
        "collective": collective,
        "filters": filters,
        "totals": selectors.ledger_totals(collective=collective, date_range=date_range,
                                          budget_id=params.get("budget"), round_id=params.get("round")),
        "payout_totals": selectors.payout_totals(collective=collective, date_range=date_range,
                                                 budget_id=params.get("budget")),
        "export_form": ExportRequestForm(initial={**request.GET.dict(), "format": "csv"}, collective=collective),
        "closed_periods": closed_periods[:50],
        "closed_rounds": Round.objects.of(collective).filter(status=RoundStatus.CLOSED).order_by("-closed_at")[:20],
        "statement_form": statement_form,
        "is_accountant": request.membership.has_role(Role.ACCOUNTANT),
        "may_import": request.membership.has_role(*IMPORT_FUNDINGS.roles),
        **_exports_context(collective),
    }, status=status)


@require_POST
@role_required(*KEEP_BOOKS.roles)
def export_create(request, collective_slug):
    form = ExportRequestForm(request.POST, collective=request.collective)
    if not form.is_valid():
        messages.error(request, _("The export request is not valid: %(errors)s") % {"errors": form.errors.as_text()})
        return redirect("accounting_index", collective_slug)
    try:
        services.export_request(collective=request.collective, actor=request.user, kind=form.cleaned_data["kind"],
                                fmt=form.cleaned_data["format"], params=form.export_params())
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("Your export is on its way: follow it below. We will also email you the link."))
    return redirect("accounting_index", collective_slug)


@role_required(*KEEP_BOOKS.roles)
def exports_list(request, collective_slug):
    return render(request, "accounting/_exports.html", {"collective": request.collective,
                                                        **_exports_context(request.collective)})


@require_POST
@role_required(*KEEP_BOOKS.roles)
def export_retry(request, collective_slug, export_id):
    export = get_object_or_404(selectors.exports_of(request.collective), pk=export_id)
    try:
        services.export_retry(export=export, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("The export is asked for again: follow it below."))
    return redirect("accounting_index", collective_slug)


@role_required(*KEEP_BOOKS.roles)
def export_download(request, collective_slug, export_id):
    export = get_object_or_404(selectors.exports_of(request.collective), pk=export_id)
    try:
        return export_file_response(export)
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("accounting_index", collective_slug)


@role_required(*KEEP_BOOKS.roles)
def chart(request, collective_slug):
    collective = request.collective
    chart_form = ChartForm(request.POST or None, chart=chart_of(collective), prefix="chart")
    settings_form = AccountingSettingsForm(request.POST or None, instance=selectors.accounting_settings_of(collective),
                                           prefix="settings")
    if request.method == "POST" and chart_form.is_valid() and settings_form.is_valid():
        try:
            services.chart_update(collective=collective, actor=request.user, mapping=chart_form.mapping())
            services.accounting_settings_update(collective=collective, actor=request.user,
                                                **settings_form.cleaned_data)
        except DomainError as error:
            add_domain_error(chart_form, error)
            for field_messages in error.fields.values():
                for message in field_messages:
                    chart_form.add_error(None, message)
        else:
            messages.success(request, _("The chart of accounts is saved."))
            return redirect("accounting_chart", collective_slug)
    return render(request, "accounting/chart.html", {
        "collective": collective, "chart_form": chart_form, "settings_form": settings_form,
    })


@require_POST
@role_required(*ACCOUNTANT_ONLY.roles)
def period_lock(request, collective_slug, period_id):
    period = get_object_or_404(selectors.periods_with_settlement(Period.objects.of(request.collective))
                               .select_related("budget"), pk=period_id)
    try:
        services.period_lock(period=period, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, period_locked_outcome(period, paid_total=period.granted_total,
                                                        currency=request.collective.currency))
    return redirect("accounting_index", collective_slug)


@role_required(*ACCOUNTANT_ONLY.roles)
def bank_statement(request, collective_slug):
    """Upload the bank's CSV of transfers: matched payouts are marked paid; every line's result is shown."""
    form = BankStatementForm(request.POST or None, request.FILES or None)
    results = None
    if request.method == "POST" and form.is_valid():
        try:
            results = bank.payouts_mark_paid_from_bank(collective=request.collective, actor=request.user,
                                                        text=form.text())
        except DomainError as error:
            form.add_error("file", error.message)
    return render(request, "accounting/bank_statement.html", {
        "collective": request.collective, "form": form, "results": results,
        "paid_count": sum(1 for result in results or [] if result["status"] == "paid"),
    })


@role_required(*KEEP_BOOKS.roles)
def personal_statement(request, collective_slug):
    """Send the chosen person's statement PDF for the chosen year; a person typed that designates nobody or several
    people shows the page again with the reason at the field."""
    form = PersonalStatementForm(request.GET, collective=request.collective)
    if not form.is_valid():
        return _index_page(request, form, status=400)
    url = reverse("api-member-statement", args=[collective_slug, form.cleaned_data["membership"].pk])
    return redirect(f"{url}?year={form.cleaned_data['year']}")
