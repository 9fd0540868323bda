"""Pages of the cobudget: rounds, buckets, live funding bars, results (thin: services do the work)."""

from decimal import Decimal

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.tenancy import role_required
from contrib_budget.text import parse_id
from members.forms import add_domain_error, error_text
from members.models import Role

from . import selectors, services
from .forms import AllocateForm, BucketForm, CommentForm, EnvelopeForm, FlagForm, LineFormSet, RoundForm
from .models import Bucket, BucketStatus, Round, RoundStatus

def _round(request, round_id) -> Round:
    return get_object_or_404(Round.objects.of(request.collective), pk=round_id)


def _bucket(request, bucket_id) -> Bucket:
    queryset = Bucket.objects.of(request.collective).select_related("round", "account", "created_by")
    return get_object_or_404(selectors.buckets_visible_to(queryset, request.user), pk=bucket_id)


def _posted_id(request, name: str) -> int:
    """An id posted by a form; 0 (found nowhere) when it is not a number."""
    return parse_id(request.POST.get(name, "")) or 0


def _is_coordinator(request) -> bool:
    return request.membership.has_role(Role.COORDINATOR)


def _decorate(buckets: list[Bucket], user) -> list[Bucket]:
    """Attach funding figures (one query for all buckets) and bar widths."""
    funding = selectors.funding_by_bucket(buckets, user)
    for bucket in buckets:
        bucket.funding = funding[bucket.pk]
        goal = bucket.max_goal or Decimal(1)
        bucket.percent = min(100, int(bucket.funding.funded_amount * 100 / goal))
        bucket.min_percent = int(bucket.min_goal * 100 / goal)
    return buckets


def _round_context(request, round: Round, buckets) -> dict:
    wallet = selectors.wallet_of(round, request.user)
    return {
        "round": round, "wallet": wallet, "buckets": _decorate(list(buckets), request.user),
        "visible": selectors.allocations_visible(round), "is_coordinator": _is_coordinator(request),
        "funding_open": services.funding_is_open(round),
        "funding_not_yet": round.status == RoundStatus.OPEN and round.funding_opens_at is not None
        and timezone.now() < round.funding_opens_at,
    }


def round_list(request, collective_slug):
    rounds = Round.objects.of(request.collective).order_by("-created_at", "-id")
    coordinator = _is_coordinator(request)
    return render(request, "cobudget/round_list.html", {
        "rounds": rounds, "is_coordinator": coordinator,
        "pool_balance": selectors.pool_balance(request.collective) if coordinator else None,
    })


def round_detail(request, collective_slug, round_id):
    round = _round(request, round_id)
    buckets = selectors.round_buckets(round, include_drafts_of=request.user)
    context = _round_context(request, round, buckets)
    context["allocate_form"] = AllocateForm()
    context["returned_at_merge"] = returned = list(selectors.returned_at_merge(round, request.user))
    for allocation in returned:
        allocation.returned = -allocation.amount
    return render(request, "cobudget/round_detail.html", context)


def round_live(request, collective_slug, round_id):
    """The live parts of a round page (funding bars, wallet), swapped out of band every few seconds."""
    round = _round(request, round_id)
    buckets = selectors.round_buckets(round, include_drafts_of=request.user)
    if (bucket_id := parse_id(request.GET.get("bucket", ""))) is not None:
        buckets = buckets.filter(pk=bucket_id)
    return render(request, "cobudget/_live.html", _round_context(request, round, buckets))


@role_required(Role.COORDINATOR)
def round_edit(request, collective_slug, round_id=None):
    round = _round(request, round_id) if round_id else None
    form = RoundForm(request.POST or None, instance=round, collective=request.collective)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            if round is None:
                round = services.round_create(collective=request.collective, actor=request.user, **fields)
            else:
                if round.status != RoundStatus.DRAFT:
                    fields = {k: v for k, v in fields.items() if k in services.ROUND_FIELDS_WHILE_OPEN}
                round = services.round_update(round=round, actor=request.user, **fields)
        except DomainError as error:
            add_domain_error(form, error)
            for name, problems in error.fields.items():
                if name in form.fields:
                    form.add_error(name, problems)
        else:
            messages.success(request, _("The round is saved."))
            return redirect("cobudget_round", request.collective.slug, round.pk)
    return render(request, "cobudget/round_form.html", {"form": form, "round": round})


@require_POST
@role_required(Role.COORDINATOR)
def round_open(request, collective_slug, round_id):
    round = _round(request, round_id)
    try:
        services.round_open(round=round, actor=request.user)
        messages.success(request, _("The round is open: every participant's wallet is credited."))
    except DomainError as error:
        messages.error(request, error_text(error))
    return redirect("cobudget_round", request.collective.slug, round.pk)


@require_POST
@role_required(Role.COORDINATOR)
def round_close(request, collective_slug, round_id):
    round = _round(request, round_id)
    try:
        services.round_close(round=round, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("cobudget_round", request.collective.slug, round.pk)
    messages.success(request, _("The round is closed."))
    return redirect("cobudget_round_results", request.collective.slug, round.pk)


def round_results(request, collective_slug, round_id):
    round = _round(request, round_id)
    buckets = _decorate(list(selectors.round_buckets(round)), request.user)
    winners = [b for b in buckets if b.status in (BucketStatus.FUNDED, BucketStatus.PARTIALLY_FUNDED,
                                                   BucketStatus.COMPLETED)]
    refunded = selectors.refunded_by_bucket(round)
    for bucket in buckets:
        bucket.refunded = refunded.get(bucket.pk, Decimal("0.00"))
        bucket.percent_of_min = int(bucket.funding.funded_amount * 100 / bucket.min_goal)
    return render(request, "cobudget/round_results.html", {
        "round": round, "winners": winners, "others": [b for b in buckets if b not in winners],
        "visible": selectors.allocations_visible(round), "is_coordinator": _is_coordinator(request),
        "totals": selectors.round_totals(round),
    })


def bucket_detail(request, collective_slug, bucket_id):
    bucket = _bucket(request, bucket_id)
    context = _round_context(request, bucket.round, [bucket])
    context.update({
        "bucket": context["buckets"][0],
        "carriers": list(bucket.carriers.all()),
        "is_carrier": bucket.carriers.filter(pk=request.user.pk).exists(),
        "lines": list(bucket.lines.all()),
        "comments": list(bucket.comments.select_related("author")),
        "flags": list(bucket.flags.select_related("author")),
        "allocate_form": AllocateForm(), "comment_form": CommentForm(), "flag_form": FlagForm(),
        "merge_targets": selectors.round_buckets(bucket.round).filter(
            status__in=(BucketStatus.PROPOSED, BucketStatus.OPEN)).exclude(pk=bucket.pk),
    })
    return render(request, "cobudget/bucket_detail.html", context)


def bucket_image(request, collective_slug, bucket_id):
    """A bucket's image, for those who may see the bucket (media files are never served publicly)."""
    bucket = _bucket(request, bucket_id)
    if not bucket.image:
        raise Http404
    try:
        handle = bucket.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def bucket_edit(request, collective_slug, bucket_id=None, round_id=None):
    bucket = _bucket(request, bucket_id) if bucket_id else None
    round = bucket.round if bucket else _round(request, round_id)
    initial, lines_initial = {}, []
    if bucket:
        initial = {"title": bucket.title, "description": bucket.description,
                   "carriers": list(bucket.carriers.exclude(pk=request.user.pk))}
        lines_initial = [{"description": line.description, "min_amount": line.min_amount,
                          "max_amount": line.max_amount} for line in bucket.lines.all()]
    form = BucketForm(request.POST or None, request.FILES or None, initial=initial, collective=request.collective)
    lines = LineFormSet(request.POST or None, initial=lines_initial, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        rows = [line for line in lines.cleaned_data if line.get("min_amount") is not None]
        data = form.cleaned_data
        try:
            if bucket is None:
                bucket = services.bucket_create(
                    round=round, actor=request.user, title=data["title"], description=data["description"],
                    lines=rows, carriers=list(data["carriers"]), image=data.get("image"))
            else:
                fields = {"title": data["title"], "description": data["description"]}
                if data.get("image"):
                    fields["image"] = data["image"]
                carriers = [*bucket.carriers.filter(pk=request.user.pk), *data["carriers"]]
                bucket = services.bucket_update(
                    bucket=bucket, actor=request.user, carriers=carriers,
                    lines=rows if bucket.status != BucketStatus.OPEN else None, **fields)
            if "propose" in request.POST:
                bucket = services.bucket_propose(bucket=bucket, actor=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The bucket is saved."))
            return redirect("cobudget_bucket", request.collective.slug, bucket.pk)
    return render(request, "cobudget/bucket_form.html",
                  {"form": form, "lines": lines, "bucket": bucket, "round": round})


def _back(request, bucket: Bucket):
    target = request.POST.get("next", "")
    if target.startswith(f"/c/{request.collective.slug}/"):
        return redirect(target)
    return redirect("cobudget_bucket", request.collective.slug, bucket.pk)


@require_POST
def bucket_allocate(request, collective_slug, bucket_id):
    bucket = _bucket(request, bucket_id)
    form = AllocateForm(request.POST)
    if not form.is_valid():
        if "round" in form.errors:
            return HttpResponseBadRequest(_("The round must be given by its id."))
        messages.error(request, _("Enter an amount above zero, with at most two decimal places."))
        return _back(request, bucket)
    amount = form.cleaned_data["amount"]
    if request.POST.get("direction") == "retract":
        amount = -amount
    try:
        result = services.allocation_create(bucket=bucket, actor=request.user, amount=amount,
                                            round_id=form.cleaned_data["round"])
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        (messages.warning if result.trimmed else messages.success)(request, result.message)
    return _back(request, bucket)


@require_POST
def bucket_action(request, collective_slug, bucket_id, name):
    bucket = _bucket(request, bucket_id)
    actions = {
        "propose": lambda: services.bucket_propose(bucket=bucket, actor=request.user),
        "approve": lambda: services.bucket_approve(bucket=bucket, actor=request.user),
        "cancel": lambda: services.bucket_cancel(bucket=bucket, actor=request.user),
        "complete": lambda: services.bucket_complete(bucket=bucket, actor=request.user),
        "merge": lambda: services.bucket_merge(
            bucket=bucket, actor=request.user,
            into=_bucket(request, _posted_id(request, "into"))),
    }
    if name not in actions:
        raise Http404
    try:
        result = actions[name]()
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("cobudget_bucket", request.collective.slug, bucket.pk)
    messages.success(request, _("Done."))
    return redirect("cobudget_bucket", request.collective.slug, result.pk)


@require_POST
def bucket_comment(request, collective_slug, bucket_id):
    bucket = _bucket(request, bucket_id)
    form = CommentForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(error_text(form) if form.data.get("body", "").strip() else _("Write something first."),
                              "invalid")
        services.bucket_comment(bucket=bucket, actor=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error_text(error))
    return redirect(reverse("cobudget_bucket", args=[request.collective.slug, bucket.pk]) + "#comments")


@require_POST
def bucket_flag(request, collective_slug, bucket_id):
    bucket = _bucket(request, bucket_id)
    try:
        services.bucket_flag(bucket=bucket, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, _("Your flag is recorded; the carriers and coordinators can see it."))
    except DomainError as error:
        messages.error(request, error_text(error))
    return redirect(reverse("cobudget_bucket", args=[request.collective.slug, bucket.pk]) + "#flags")


@role_required(Role.COORDINATOR)
def bucket_envelope(request, collective_slug, bucket_id):
    bucket = _bucket(request, bucket_id)
    form = EnvelopeForm(request.POST or None, collective=request.collective)
    if request.method == "POST" and form.is_valid():
        try:
            envelope = services.bucket_to_envelope(
                bucket=bucket, actor=request.user, budget=form.cleaned_data["budget"],
                new_budget_name=form.cleaned_data["new_budget_name"] or bucket.title)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("“%(bucket)s” is now an envelope of the budget %(budget)s.")
                             % {"bucket": bucket.title, "budget": envelope.budget.name})
            return redirect("cobudget_round_results", request.collective.slug, bucket.round_id)
    return render(request, "cobudget/bucket_envelope.html", {"form": form, "bucket": bucket,
                                                             "funded": selectors.bucket_funded_amount(bucket)})
