"""The pages' side of Equal Shares rounds: what a participant may do on a bucket (support it, with a score when
the round allows scores, or take the support back), the confirmations and outcomes of opening and closing told
in the round's terms (no wallet moves), and the results page that explains each bucket."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contrib_budget.errors import DomainError
from contrib_budget.money import ZERO, format_money

from . import selectors, services
from .models import Bucket, BucketStatus, BucketSupport, Round, RoundMode, RoundStatus

SCORES = range(1, 6)
# The supporters a bucket of the results names (those who paid most first); the others are counted.
SUPPORTERS_SHOWN = 20


def supports_context(buckets: list[Bucket], user, *, round: Round, participant: bool, funding_open: bool) -> dict:
    """Nobody gives in an Equal Shares round: each bucket learns instead the reader's support (`my_score`, None
    without one; one query for all the buckets) and whether they may support it, or take it back, now
    (`may_support`). A live round's buckets are left as they are."""
    if round.mode != RoundMode.EQUAL_SHARES:
        return {}
    scores = {}
    if participant and buckets:
        scores = dict(BucketSupport.objects.of(round.collective_id).filter(
            user=user, bucket__in=[bucket.pk for bucket in buckets]).values_list("bucket_id", "score"))
    for bucket in buckets:
        bucket.giving = bucket.may_give = bucket.may_take_back = False
        bucket.my_score = scores.get(bucket.pk)
        bucket.may_support = participant and funding_open and bucket.status == BucketStatus.OPEN
    return {"scores": SCORES}


def _back_to(round: Round) -> str:
    if round.funded_from_pool:
        return _("goes back to the cobudget pool")
    return _("goes back to the round's source")


def round_open_question(round: Round) -> str:
    """What opening sets aside; empty when the round cannot open yet (opening then says why)."""
    try:
        participants = services.round_envelopes(round=round)
    except DomainError:
        return ""
    currency = round.collective.currency
    question = ngettext(
        "Opening “%(round)s” sets %(total)s aside, to be shared out by Equal Shares for its %(count)s participant.",
        "Opening “%(round)s” sets %(total)s aside, to be shared out by Equal Shares for its %(count)s participants.",
        len(participants),
    ) % {"round": round.name, "total": format_money(round.total_amount or ZERO, currency), "count": len(participants)}
    if round.funded_from_pool:
        question += " " + _("The money comes from the cobudget pool, which holds %(pool)s.") % {
            "pool": format_money(selectors.pool_balance(round.collective), currency)}
    return question + "\n" + _("From then on its rules are locked.")


def round_opened_outcome(round: Round) -> str:
    count = selectors.participants_count(round)
    return ngettext("Round open: its %(count)s participant can support the buckets.",
                    "Round open: its %(count)s participants can support the buckets.", count) % {"count": count}


def round_close_question(round: Round) -> str:
    return _("Closing “%(round)s” ends support: the Method of Equal Shares then shares %(total)s out among the "
             "buckets open for funding, and what it does not spend %(back)s.") % {
        "round": round.name, "total": format_money(round.total_amount or ZERO, round.collective.currency),
        "back": _back_to(round)}


def round_closed_outcome(round: Round) -> str:
    currency = round.collective.currency
    results = round.results
    return ngettext(
        "Round closed: Equal Shares selected %(count)s bucket, %(spent)s of %(total)s; the %(left)s left %(back)s.",
        "Round closed: Equal Shares selected %(count)s buckets, %(spent)s of %(total)s; the %(left)s left %(back)s.",
        len(results.get("selected", [])),
    ) % {"count": len(results.get("selected", [])), "spent": format_money(Decimal(results.get("spent", 0)), currency),
         "total": format_money(round.total_amount or ZERO, currency),
         "left": format_money(Decimal(results.get("left", 0)), currency), "back": _back_to(round)}


def _name_supporters(rows: list[dict]) -> None:
    """Each row's supporters who paid most (`named`: name and share, None for a bucket not selected), the
    others counted (`unnamed`); everyone's names in one query."""
    for row in rows:
        row["named"] = sorted(row["supporters"], key=lambda user_id: (-row["shares"].get(user_id, ZERO), user_id))
        row["unnamed"] = max(len(row["named"]) - SUPPORTERS_SHOWN, 0)
        row["named"] = row["named"][:SUPPORTERS_SHOWN]
    ids = {user_id for row in rows for user_id in row["named"]}
    names = {user.pk: user.display_name for user in get_user_model().objects.filter(pk__in=ids).only("name", "email")}
    for row in rows:
        row["named"] = [(names.get(user_id, "?"), row["shares"].get(user_id)) for user_id in row["named"]]


def round_results(request, round: Round, *, per_page: int, is_coordinator: bool) -> HttpResponse:
    """The close explained, a page of buckets at a time (the selected first): each bucket's cost, its supporters
    and what each paid, or what it lacked; the round's total, what was spent and what is left, the tie rule."""
    page = Paginator(selectors.results_buckets(round), per_page).get_page(request.GET.get("page"))
    buckets = list(page.object_list)
    rows = selectors.explained(round, buckets)
    for row, bucket in zip(rows, buckets, strict=True):
        row["bucket"] = bucket
    _name_supporters(rows)
    results = round.results
    return render(request, "cobudget/round_results_equal_shares.html", {
        "round": round, "rows": rows, "page": page, "is_coordinator": is_coordinator,
        "computed": bool(results) and round.status == RoundStatus.CLOSED,
        "spent": Decimal(results.get("spent", 0)), "left": Decimal(results.get("left", 0)),
        "selected_count": len(results.get("selected", [])), "tie_seed": results.get("tie_seed", ""),
        "participants": selectors.participants_count(round),
    })
