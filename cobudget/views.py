"""Pages of the cobudget: rounds, buckets, live funding bars, results (thin: services do the work)."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.money import ZERO
from contrib_budget.tenancy import collective_object_or_404, role_required
from contrib_budget.text import parse_id
from members.models import Role

from . import charts, equal_shares_pages, live, outcomes, selectors, services
from .forms import AllocateForm, BucketForm, CommentForm, FlagForm, LineFormSet
from .models import Bucket, BucketStatus, Round, RoundMode, RoundStatus
from .round_form import RoundForm

BUCKETS_PER_PAGE = 24
ROUNDS_PER_PAGE = 25
RESULTS_PER_PAGE = 25
COMMENTS_PER_PAGE = 25
# The biggest funders a bucket names; the others are counted.
FUNDERS_SHOWN = 20
SEARCH_MAX_LENGTH = 100


def round_of(request, round_id) -> Round:
    return collective_object_or_404(request, Round.objects.of(request.collective), round_id)


def bucket_of(request, bucket_id) -> Bucket:
    queryset = Bucket.objects.of(request.collective).select_related("round", "account", "created_by")
    bucket = collective_object_or_404(request, selectors.buckets_visible_to(queryset, request.user), bucket_id)
    bucket.round.collective = request.collective
    return bucket


def posted_id(request, name: str) -> int:
    """An id posted by a form; 0 (found nowhere) when it is not a number."""
    return parse_id(request.POST.get(name, "")) or 0


def _is_coordinator(request) -> bool:
    return request.membership.has_role(Role.COORDINATOR)


def _decorate(buckets: list[Bucket], user, *, round: Round | None = None, wallet=None,
              funding_open: bool = False, naming: int = 0) -> list[Bucket]:
    """Attach funding figures (one query for all buckets; the `naming` biggest funders of each named in one more)
    and bar widths; with the reader's wallet, what they may do: give (`may_give`, up to `room`: the bucket's need,
    the per-member cap and the wallet all bound it) and take back (`may_take_back`: only where they gave)."""
    funding = selectors.funding_by_bucket(buckets, user, naming=naming)
    balance = wallet.account.balance if wallet else ZERO
    cap = round.max_per_member_per_bucket if round else None
    for bucket in buckets:
        bucket.funding = funding[bucket.pk]
        goal = bucket.max_goal or Decimal(1)
        bucket.percent = min(100, int(bucket.funding.funded_amount * 100 / goal))
        bucket.min_percent = int(bucket.min_goal * 100 / goal)
        mine = bucket.funding.my_amount
        bucket.needed = max(bucket.max_goal - bucket.funding.funded_amount, ZERO)
        bucket.cap_left = None if cap is None else max(cap - mine, ZERO)
        bucket.room = min(amount for amount in (balance, bucket.needed, bucket.cap_left) if amount is not None)
        bucket.giving = wallet is not None and funding_open and bucket.status == BucketStatus.OPEN
        bucket.may_give = bucket.giving and bucket.room > 0
        bucket.may_take_back = (wallet is not None and funding_open and round.allow_retract and mine > 0
                                and bucket.status in (BucketStatus.OPEN, BucketStatus.FUNDED))
    return buckets


def _told(round: Round):
    """What tells opening and closing the round in figures: an Equal Shares round moves no wallet."""
    return equal_shares_pages if round.mode == RoundMode.EQUAL_SHARES else outcomes


def round_context(request, round: Round, buckets, *, named: bool = False) -> dict:
    """What the round's page, its live refresh and a bucket's box show: their funders counted, not named, except
    on the bucket's own page (`named`)."""
    wallet = selectors.wallet_of(round, request.user)
    funding_open = services.funding_is_open(round)
    visible = selectors.allocations_visible(round)
    buckets = _decorate(list(buckets), request.user, round=round, wallet=wallet, funding_open=funding_open,
                        naming=FUNDERS_SHOWN if named else 0)
    for bucket in buckets:
        bucket.live_version = live.bucket_version(bucket, visible=visible)
    return {
        **equal_shares_pages.supports_context(buckets, request.user, round=round, participant=wallet is not None,
                                              funding_open=funding_open),
        "round": round, "wallet": wallet, "funding_open": funding_open, "buckets": buckets,
        "live_seen": live.seen(buckets, wallet), "visible": visible, "is_coordinator": _is_coordinator(request),
        # A draft has no wallets yet: its participants are told theirs comes; others are told nothing per bucket.
        "wallet_to_come": wallet is None and round.status == RoundStatus.DRAFT
        and services.is_participant(round=round, user=request.user),
        "funding_not_yet": round.status == RoundStatus.OPEN and round.funding_opens_at is not None
        and timezone.now() < round.funding_opens_at,
    }


def _shown_buckets(request, round: Round):
    """The round's buckets for the grid: merged and withdrawn ones leave it unless `?show=all` asks for them.
    Returns the buckets, whether all are shown, and how many are left out."""
    buckets = selectors.round_buckets(round, include_drafts_of=request.user)
    if request.GET.get("show") == "all":
        return buckets, True, 0
    return buckets.exclude(status=BucketStatus.CANCELLED), False, buckets.filter(status=BucketStatus.CANCELLED).count()


def _search_and_sort(request) -> tuple[str, str]:
    """The words searched for and the order asked for (the default one when the query names none it knows)."""
    search = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    sort = request.GET.get("sort", "")
    return search, sort if sort in selectors.BucketSort.values else selectors.BucketSort.PROPOSED


def _page_query(*, show_all: bool, search: str, sort: str) -> str:
    """The query string that keeps what the reader chose from one page of buckets to the next."""
    query = QueryDict(mutable=True)
    if show_all:
        query["show"] = "all"
    if search:
        query["q"] = search
    if sort != selectors.BucketSort.PROPOSED:
        query["sort"] = sort
    return query.urlencode()


def round_list(request, collective_slug):
    rounds = Round.objects.of(request.collective).order_by("-created_at", "-id")
    page = Paginator(rounds, ROUNDS_PER_PAGE).get_page(request.GET.get("page"))
    coordinator = _is_coordinator(request)
    return render(request, "cobudget/round_list.html", {
        "rounds": page.object_list, "page": page, "is_coordinator": coordinator,
        "pool_balance": selectors.pool_balance(request.collective) if coordinator else None,
    })


def round_detail(request, collective_slug, round_id):
    round = round_of(request, round_id)
    buckets, show_all, left_out = _shown_buckets(request, round)
    search, sort = _search_and_sort(request)
    page = Paginator(selectors.buckets_found(buckets, search=search, sort=sort),
                     BUCKETS_PER_PAGE).get_page(request.GET.get("page"))
    context = round_context(request, round, page.object_list)
    context.update({
        "page": page, "search": search, "sort": sort, "sorts": selectors.BucketSort.choices,
        "query": _page_query(show_all=show_all, search=search, sort=sort),
        "unsearched_query": _page_query(show_all=show_all, search="", sort=sort),
        "toggled_query": _page_query(show_all=not show_all, search=search, sort=sort),
        "show_all": show_all, "left_out": left_out, "allocate_form": AllocateForm(),
        "may_propose": services.proposals_are_open(round)
        and (context["wallet"] is not None or context["wallet_to_come"]),
    })
    if context["is_coordinator"] and round.status == RoundStatus.OPEN:
        context["close_question"] = _told(round).round_close_question(round)
        context["close_warning"] = outcomes.round_close_warning(round)
    if context["is_coordinator"] and round.status == RoundStatus.DRAFT:
        context["open_question"] = _told(round).round_open_question(round)
    context["returned_at_merge"] = returned = list(selectors.returned_at_merge(round, request.user))
    for allocation in returned:
        allocation.returned = -allocation.amount
    return render(request, "cobudget/round_detail.html", context)


def round_live(request, collective_slug, round_id):
    """What changed on a tab since its last poll, swapped out of band every few seconds: the funding bars and
    statuses of the buckets it shows whose figures moved, and the wallet if it did; 204 when nothing did.

    The tab says what it shows (`seen`, see `live.seen`) rather than since when: allocations commit out of the
    order of their ids and times, so a marker could skip one; comparing what is shown cannot."""
    round = round_of(request, round_id)
    seen_wallet, seen_buckets = live.seen_on_the_tab(request.GET.get("seen", ""), most=BUCKETS_PER_PAGE)
    shown = selectors.round_buckets(round, include_drafts_of=request.user).filter(pk__in=list(seen_buckets))
    context = round_context(request, round, shown)
    changed = [bucket for bucket in context["buckets"] if seen_buckets[bucket.pk] != bucket.live_version]
    wallet_changed = seen_wallet != live.wallet_version(context["wallet"])
    if not changed and not wallet_changed:
        return HttpResponse(status=204)
    context.update({"buckets": changed, "wallet_changed": wallet_changed})
    return render(request, "cobudget/_live.html", context)


@role_required(Role.COORDINATOR)
def round_edit(request, collective_slug, round_id=None):
    round = round_of(request, round_id) if round_id else None
    if round is not None and round.status == RoundStatus.CLOSED:
        messages.error(request, _("A closed round cannot change."))
        return redirect("cobudget_round", request.collective.slug, round.pk)
    form = RoundForm(request.POST or None, instance=round, collective=request.collective)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            if round is None:
                round = services.round_create(collective=request.collective, actor=request.user, **fields)
            else:
                round = services.round_update(round=round, actor=request.user, **fields)
        except DomainError as error:
            add_domain_error(form, error)
            if error.message not in form.non_field_errors():
                # Also above the form: the field it names may be sections below.
                form.add_error(None, error.message)
        else:
            messages.success(request, _("The round is saved."))
            return redirect("cobudget_round", request.collective.slug, round.pk)
    return render(request, "cobudget/round_form.html", {"form": form, "round": round})


@require_POST
@role_required(Role.COORDINATOR)
def round_open(request, collective_slug, round_id):
    round = round_of(request, round_id)
    try:
        round = services.round_open(round=round, actor=request.user)
        messages.success(request, _told(round).round_opened_outcome(round))
    except DomainError as error:
        messages.error(request, error_text(error))
    return redirect("cobudget_round", request.collective.slug, round.pk)


@require_POST
@role_required(Role.COORDINATOR)
def round_close(request, collective_slug, round_id):
    round = round_of(request, round_id)
    try:
        round = services.round_close(round=round, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("cobudget_round", request.collective.slug, round.pk)
    messages.success(request, _told(round).round_closed_outcome(round))
    return redirect("cobudget_round_results", request.collective.slug, round.pk)


def round_results(request, collective_slug, round_id):
    """The round's figures (summed in SQL over every bucket) and its buckets a page at a time, funded ones first."""
    round = round_of(request, round_id)
    if round.mode == RoundMode.EQUAL_SHARES:
        return equal_shares_pages.round_results(request, round, per_page=RESULTS_PER_PAGE,
                                                is_coordinator=_is_coordinator(request))
    page = Paginator(selectors.results_buckets(round), RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    buckets = _decorate(list(page.object_list), request.user, naming=FUNDERS_SHOWN)
    refunded = selectors.refunded_by_bucket(round, buckets=buckets)
    charted = []
    for bucket in buckets:
        bucket.refunded = refunded.get(bucket.pk, Decimal("0.00"))
        bucket.percent_of_min = int(bucket.funding.funded_amount * 100 / bucket.min_goal)
        _name_biggest_funders(bucket)
        if bucket.status != BucketStatus.CANCELLED:
            # What it raised, even if the close gave it back to the wallets.
            bucket.raised = bucket.funding.funded_amount + bucket.refunded
            bucket.raised_percent = int(bucket.raised * 100 / bucket.min_goal)
            bucket.chart = charts.bucket_funding_bar(bucket, bucket.raised, currency=request.collective.currency)
            charted.append(bucket)
    winners = [b for b in buckets if b.status in selectors.BUCKET_WINNERS]
    return render(request, "cobudget/round_results.html", {
        "round": round, "winners": winners, "others": [b for b in buckets if b not in winners], "charted": charted,
        "winners_count": selectors.results_buckets(round).filter(status__in=selectors.BUCKET_WINNERS).count(),
        "page": page, "visible": selectors.allocations_visible(round), "is_coordinator": _is_coordinator(request),
        "totals": selectors.round_totals(round),
    })


def _name_biggest_funders(bucket: Bucket) -> None:
    """`funders_unnamed` counts the funders past the FUNDERS_SHOWN biggest, whom the page names."""
    bucket.funders_unnamed = max(bucket.funding.funders_count - FUNDERS_SHOWN, 0)


MERGE_TARGETS_SHOWN = 20


def _comments_page(request, bucket: Bucket):
    """A page of the bucket's messages, the latest by default (a new message shows where it was sent)."""
    paginator = Paginator(bucket.comments.select_related("author").order_by("created_at", "id"), COMMENTS_PER_PAGE)
    return paginator.get_page(request.GET.get("page") or paginator.num_pages)


def bucket_detail(request, collective_slug, bucket_id):
    bucket = bucket_of(request, bucket_id)
    round = bucket.round
    context = round_context(request, round, [bucket], named=True)
    bucket = context["buckets"][0]
    is_carrier = bucket.carriers.filter(pk=request.user.pk).exists()
    comments = _comments_page(request, bucket)
    context.update({
        "bucket": bucket, "is_carrier": is_carrier,
        "carriers": list(bucket.carriers.all()),
        "lines": list(bucket.lines.all()),
        "comments": comments.object_list, "page": comments,
        "flags": list(bucket.flags.select_related("author", "resolved_by").order_by("-resolved_at", "created_at")),
        "allocate_form": AllocateForm(), "comment_form": CommentForm(), "flag_form": FlagForm(),
        **_merge_targets(request, bucket, is_carrier=is_carrier),
    })
    _name_biggest_funders(bucket)
    if (is_carrier or context["is_coordinator"]) and round.status != RoundStatus.CLOSED \
            and bucket.status in services.BUCKET_LIVE:
        context["cancel_question"] = outcomes.bucket_cancel_question(bucket)
    return render(request, "cobudget/bucket_detail.html", context)


def _merge_targets(request, bucket: Bucket, *, is_carrier: bool) -> dict:
    """The buckets this one may merge into, at most MERGE_TARGETS_SHOWN (found by title past that), each with the
    question stating both goals before and after; none when the reader may not merge it (a coordinator, or someone
    who carries both buckets, may)."""
    coordinator = _is_coordinator(request)
    mergeable = (BucketStatus.PROPOSED, BucketStatus.OPEN)
    if bucket.round.status == RoundStatus.CLOSED or bucket.status not in mergeable or not (is_carrier or coordinator):
        return {"merge_targets": []}
    targets = selectors.round_buckets(bucket.round).filter(status__in=mergeable).exclude(pk=bucket.pk)
    if bucket.funding.funders_count:  # its allocations can only follow it into a bucket open for funding
        targets = targets.filter(status=BucketStatus.OPEN)
    if not coordinator:
        targets = targets.filter(carriers=request.user)
    search = request.GET.get("merge_q", "").strip()[:100]
    if search:
        targets = targets.filter(title__icontains=search)
    count = targets.count()
    shown = _decorate(list(targets[:MERGE_TARGETS_SHOWN]), request.user)
    questions = outcomes.bucket_merge_questions(bucket, shown)
    for target in shown:
        target.merge_question = questions[target.pk]
    return {"merge_targets": shown, "merge_search": search, "merge_unshown": count - len(shown),
            "merge_offered": bool(count or search)}


def bucket_image(request, collective_slug, bucket_id):
    """A bucket's image, for those who may see the bucket (media files are never served publicly)."""
    bucket = bucket_of(request, bucket_id)
    if not bucket.image:
        raise Http404
    try:
        handle = bucket.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _reads_emails(request) -> bool:
    """Whether the reader finds people by their email too, as the members search lets them."""
    return _is_coordinator(request) or request.membership.has_role(Role.ACCOUNTANT)


def _may_edit(request, bucket: Bucket) -> bool:
    return _is_coordinator(request) or bucket.carriers.filter(pk=request.user.pk).exists()


def bucket_edit(request, collective_slug, bucket_id=None, round_id=None):
    """Propose a bucket (the round's participants, while proposals are open) or edit one (its carriers and the
    coordinators): the form is only offered to those who may use it."""
    bucket = bucket_of(request, bucket_id) if bucket_id else None
    round = bucket.round if bucket else round_of(request, round_id)
    if bucket is None and not services.is_participant(round=round, user=request.user):
        raise PermissionDenied
    if bucket is not None and not _may_edit(request, bucket):
        raise PermissionDenied
    if bucket is None and not services.proposals_are_open(round):
        messages.error(request, _("Bucket proposals are not open in this round."))
        return redirect("cobudget_round", request.collective.slug, round.pk)
    initial, lines_initial = {}, []
    carrying = bucket is None or bucket.carriers.filter(pk=request.user.pk).exists()
    if bucket:
        initial = {"title": bucket.title, "description": bucket.description,
                   "carriers": list(bucket.carriers.exclude(pk=request.user.pk) if carrying else bucket.carriers.all())}
        lines_initial = [{"description": line.description, "min_amount": line.min_amount,
                          "max_amount": line.max_amount} for line in bucket.lines.all()]
    form = BucketForm(request.POST or None, request.FILES or None, initial=initial, collective=request.collective,
                      author=request.user if carrying else None, by_email=_reads_emails(request))
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
                  {"form": form, "lines": lines, "bucket": bucket, "round": round,
                   "lines_open": bucket is None or bucket.status != BucketStatus.OPEN})
