"""What the round page says of a round that redistributes, and the close of its first window (thin:
services.round_close does the work, running the first close when it is due). The round page asks for it through
cobudget/templatetags/cobudget_redistribution.py; views.py stays as it is."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.db.models import Count, F, Sum
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import error_text
from contrib_budget.money import ZERO, format_money
from contrib_budget.tenancy import role_required
from members.models import Role

from . import outcomes, services
from .models import Bucket, BucketStatus, LeftoverPolicy, PartialPolicy, Round, RoundMode, RoundStatus, Wallet


@dataclass
class Redistribution:
    """Where a round that redistributes stands: its next close is the first one, or its second window is open
    (until `closes_at`); `close_question` is what the coordinator confirms before the first close, `close_warning`
    what they are warned of before a final close that cuts the second window short."""

    first_close: bool = False
    second_window: bool = False
    closes_at: datetime | None = None
    close_question: str = ""
    close_warning: str = ""


def redistribution_of(round: Round, *, is_coordinator: bool) -> Redistribution:
    if round.mode != RoundMode.LIVE or round.status != RoundStatus.OPEN:
        return Redistribution()
    if round.redistribution_closes_at is not None:
        second_window = timezone.now() < round.redistribution_closes_at
        warning = _("The second window was to stay open until %(date)s: closing now ends it early, for everyone.") % {
            "date": _when(round.redistribution_closes_at)} if second_window and is_coordinator else ""
        return Redistribution(second_window=second_window, closes_at=round.redistribution_closes_at,
                              close_warning=warning)
    if round.partial_policy != PartialPolicy.REDISTRIBUTE:
        return Redistribution()
    return Redistribution(first_close=True,
                          close_question=first_close_question(round) if is_coordinator else "")


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def first_close_question(round: Round) -> str:
    """What the first close will do, in figures, for the coordinator to confirm."""
    currency = round.collective.currency
    below = (Bucket.objects.of(round.collective_id)
             .filter(round=round, status=BucketStatus.OPEN, settled_at__isnull=True,
                     account__balance__lt=F("min_goal"))
             .aggregate(count=Count("pk"), total=Sum("account__balance")))
    lines = [ngettext(
        "%(count)s bucket is below its minimum: its %(amount)s go back to its funders' wallets.",
        "%(count)s buckets are below their minimum: their %(amount)s go back to their funders' wallets.",
        below["count"]) % {"count": below["count"], "amount": format_money(below["total"] or ZERO, currency)}]
    if round.redistribute_unspent:
        lines.append(_("What is left in the wallets stays there and can be given in the second window."))
    else:
        left = (Wallet.objects.of(round.collective_id).filter(round=round)
                .aggregate(total=Sum("account__balance"))["total"] or ZERO)
        lines.append((_("The %(amount)s left in the wallets return to the cobudget pool now.")
                      if round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL or round.funded_from_pool
                      else _("The %(amount)s left in the wallets expire now."))
                     % {"amount": format_money(left, currency)})
    lines.append(ngettext(
        "Then a second window of %(hours)s hour opens: only buckets still open and not yet full can receive.",
        "Then a second window of %(hours)s hours opens: only buckets still open and not yet full can receive.",
        round.redistribution_hours) % {"hours": round.redistribution_hours})
    head = _("Closing the first window of “%(round)s” now ends its first funding:") % {"round": round.name}
    return "\n".join([head, *("• " + line for line in lines)])


def first_close_outcome(round: Round) -> str:
    """After the first close, from what it recorded."""
    currency = round.collective.currency
    refunded = (Bucket.objects.of(round.collective_id).filter(round=round, settled_at__isnull=False,
                                                            status=BucketStatus.UNFUNDED)
                .aggregate(count=Count("pk"))["count"])
    given_back = services.redistribution_given_back(round)
    text = ngettext(
        "First window closed: %(amount)s from %(count)s bucket below its minimum went back to the wallets.",
        "First window closed: %(amount)s from %(count)s buckets below their minimum went back to the wallets.",
        refunded) % {"count": refunded, "amount": format_money(sum(given_back.values(), ZERO), currency)}
    if round.redistribution_closes_at:
        text += " " + _("The second window is open until %(date)s: only buckets not yet full can receive.") % {
            "date": _when(round.redistribution_closes_at)}
    return text


@require_POST
@role_required(Role.COORDINATOR)
def round_close_first_window(request, collective_slug, round_id):
    """The close button of a round whose next close is its first one; should the second window already be open
    (another coordinator was quicker), this is the final close, told as such."""
    round = get_object_or_404(Round.objects.of(request.collective), pk=round_id)
    try:
        round = services.round_close(round=round, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("cobudget_round", request.collective.slug, round.pk)
    if round.status == RoundStatus.CLOSED:
        messages.success(request, outcomes.round_closed_outcome(round))
        return redirect("cobudget_round_results", request.collective.slug, round.pk)
    messages.success(request, first_close_outcome(round))
    return redirect("cobudget_round", request.collective.slug, round.pk)
