"""Pages of payment batches (SEPA and payroll files) and of corrections to grants."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import error_text
from contrib_budget.tenancy import role_required
from contrib_budget.text import parse_id

from .batch_api import batch_file_response
from .batches import batch_cancel, batch_create, batch_mark_sent
from .corrections import payout_correct, payout_reverse
from .explanations import payout_explanation
from .forms import CorrectForm, ReverseForm
from .models import BatchMethod, BatchStatus, Payout, PayoutBatch, PayoutState
from .permissions import CORRECT_GRANTS, PAY_PAYOUTS
from .views import redirect_back

PAGE_SIZE = 50


def _batch(request, batch_id: int) -> PayoutBatch:
    return get_object_or_404(PayoutBatch.objects.of(request.collective).defer("document"), pk=batch_id)


@role_required(*PAY_PAYOUTS.roles)
def batches(request, collective_slug):
    page = Paginator(PayoutBatch.objects.of(request.collective).defer("document"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "budgets/batches.html", {"page": page, "batches": page.object_list})


@require_POST
@role_required(*PAY_PAYOUTS.roles)
def batch_new(request, collective_slug):
    ids = [pk for pk in map(parse_id, request.POST.getlist("payouts")) if pk is not None]
    try:
        batch = batch_create(collective=request.collective, actor=request.user, payout_ids=ids,
                             method=request.POST.get("method", ""))
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect_back(request, "payouts")
    messages.success(request, _("Batch #%(id)s is ready: download its file and give it to the bank or the payroll.")
                     % {"id": batch.pk})
    return redirect("payout_batch", request.collective.slug, batch.pk)


@role_required(*PAY_PAYOUTS.roles)
def batch_detail(request, collective_slug, payout_batch_id):
    batch = _batch(request, payout_batch_id)
    ids = [line["payout"] for line in batch.lines]
    payouts = (Payout.objects.of(request.collective).filter(pk__in=ids)
               .select_related("person", "period__budget").order_by("person__name", "id"))
    page = Paginator(payouts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "budgets/batch_detail.html", {
        "batch": batch, "page": page, "payouts": page.object_list, "prepared": batch.status == BatchStatus.PREPARED,
        "methods": BatchMethod,
    })


@role_required(*PAY_PAYOUTS.roles)
def batch_download(request, collective_slug, payout_batch_id):
    return batch_file_response(get_object_or_404(PayoutBatch.objects.of(request.collective), pk=payout_batch_id))


@require_POST
@role_required(*PAY_PAYOUTS.roles)
def batch_sent(request, collective_slug, payout_batch_id):
    return _batch_action(request, payout_batch_id, batch_mark_sent, _("Batch #%(id)s is marked sent."))


@require_POST
@role_required(*PAY_PAYOUTS.roles)
def batch_cancelled(request, collective_slug, payout_batch_id):
    return _batch_action(request, payout_batch_id, batch_cancel,
                         _("Batch #%(id)s is cancelled: its payouts are payable again."))


def _batch_action(request, payout_batch_id: int, service, done: str):
    batch = _batch(request, payout_batch_id)
    try:
        service(batch=batch, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, done % {"id": batch.pk})
    return redirect("payout_batch", request.collective.slug, batch.pk)


@role_required(*CORRECT_GRANTS.roles)
def payout_correction(request, collective_slug, payout_id):
    """The page that reverses an unpaid grant or records what a paid payout owes back."""
    payout = get_object_or_404(Payout.objects.of(request.collective).select_related("person", "period__budget"),
                               pk=payout_id)
    payout.explanation = payout_explanation(payout)
    return render(request, "budgets/payout_correction.html", {
        "payout": payout, "corrections": payout.corrections.order_by("id"), "states": PayoutState,
    })


@require_POST
@role_required(*CORRECT_GRANTS.roles)
def payout_reversed(request, collective_slug, payout_id):
    return _corrected(request, payout_id, ReverseForm,
                      lambda payout, data: payout_reverse(payout=payout, actor=request.user, reason=data["reason"]),
                      _("The grant is reversed: its money is back in the budget."))


@require_POST
@role_required(*CORRECT_GRANTS.roles)
def payout_corrected(request, collective_slug, payout_id):
    return _corrected(request, payout_id, CorrectForm,
                      lambda payout, data: payout_correct(payout=payout, actor=request.user, **data),
                      _("The correction is recorded: the person's next payment repays it."))


def _corrected(request, payout_id: int, form_class, correct, done: str):
    payout = get_object_or_404(Payout.objects.of(request.collective), pk=payout_id)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect("payout_correction", request.collective.slug, payout.pk)
    try:
        correct(payout, form.cleaned_data)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, done)
    return redirect("payout_correction", request.collective.slug, payout.pk)
