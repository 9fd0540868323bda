"""The pages of incoming money: upload a file, review and change each line's action, confirm, read the summary."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from budgets.models import Budget
from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.tenancy import role_required

from ..models import FundingImport, FundingImportLine, ImportAction, ImportStatus
from ..permissions import IMPORT_FUNDINGS, KEEP_BOOKS
from . import services
from .forms import IncomingUploadForm

LINES_PAGE_SIZE = 50
CHOOSABLE = [(action, label) for action, label in ImportAction.choices if action != ImportAction.DUPLICATE]


@require_http_methods(["GET", "POST"])
@role_required(*IMPORT_FUNDINGS.roles)
def funding_import_upload(request, collective_slug):
    form = IncomingUploadForm(request.POST or None, request.FILES or None, collective=request.collective)
    if request.method == "POST" and form.is_valid():
        try:
            funding_import = services.funding_import_preview(
                collective=request.collective, actor=request.user, fmt=form.cleaned_data["format"],
                text=form.text(), budget=form.cleaned_data["budget"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return redirect("funding_import_detail", collective_slug, funding_import.pk)
    return render(request, "accounting/funding_import_upload.html", {"collective": request.collective, "form": form})


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _choices(request) -> list[dict]:
    """The choices of the lines shown on the page that was posted (`line` names each of them)."""
    choices = []
    for number in request.POST.getlist("line"):
        if not number.isdigit():
            continue
        choice: dict = {"number": int(number)}
        if request.POST.get(f"action-{number}"):
            choice["action"] = request.POST[f"action-{number}"]
        if f"funding-{number}" in request.POST:
            choice["funding"] = _id(request.POST[f"funding-{number}"])
        if f"budget-{number}" in request.POST:
            choice["budget"] = _id(request.POST[f"budget-{number}"])
        choices.append(choice)
    return choices


def _post(request, funding_import: FundingImport):
    if not request.membership.has_role(*IMPORT_FUNDINGS.roles):
        raise PermissionDenied
    choices = _choices(request)
    try:
        if "apply" in request.POST:
            services.funding_import_apply(funding_import=funding_import, actor=request.user, choices=choices)
            messages.success(request, _("The incoming money is imported."))
        else:
            services.funding_import_choose(funding_import=funding_import, actor=request.user, choices=choices)
            messages.success(request, _("Your choices for these lines are saved."))
    except DomainError as error:
        messages.error(request, error_text(error))
    page = request.POST.get("page", "")
    return redirect(request.path + (f"?page={page}" if page.isdigit() else ""))


@require_http_methods(["GET", "POST"])
@role_required(*KEEP_BOOKS.roles)
def funding_import_detail(request, collective_slug, funding_import_id):
    collective = request.collective
    funding_import = get_object_or_404(FundingImport.objects.of(collective).select_related("collective", "budget"),
                                       pk=funding_import_id)
    if request.method == "POST":
        return _post(request, funding_import)
    lines = FundingImportLine.objects.of(collective).filter(funding_import=funding_import).select_related(
        "funding", "budget").order_by("number")
    page = Paginator(lines, LINES_PAGE_SIZE).get_page(request.GET.get("page"))
    editable = funding_import.status == ImportStatus.PREVIEW and request.membership.has_role(*IMPORT_FUNDINGS.roles)
    if editable:
        pledges = services.pledges_by_amount(collective, {line.amount for line in page.object_list})
        for line in page.object_list:
            line.candidates = pledges.get(line.amount, [])
    return render(request, "accounting/funding_import_detail.html", {
        "collective": collective, "funding_import": funding_import, "page": page, "editable": editable,
        "choosable": CHOOSABLE,
        "budgets": list(Budget.objects.of(collective).order_by("name", "id")) if editable else [],
        "summary_rows": _summary_rows(funding_import.summary),
    })


def _summary_rows(summary: dict) -> list[tuple[str, dict]]:
    labels = {"received": _("Pledged fundings received"), "created": _("New received fundings"),
              "skipped": _("Skipped"), "duplicates": _("Already imported")}
    return [(label, summary[key]) for key, label in labels.items() if key in summary]
