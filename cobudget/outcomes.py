"""Irreversible cobudget actions told in figures: what the confirmation dialog says they will do, and what the
message after says they did. One place, so that the dialog and the outcome never tell two stories."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contrib_budget.errors import DomainError
from contrib_budget.money import ZERO, format_money

from . import selectors, services
from .models import Allocation, AllocationKind, Bucket, BucketStatus, LeftoverPolicy, Round

WINNERS = (BucketStatus.FUNDED, BucketStatus.PARTIALLY_FUNDED, BucketStatus.COMPLETED)


def _goal(low: Decimal, high: Decimal, currency: str) -> str:
    if low == high:
        return format_money(low, currency)
    return _("%(min)s to %(max)s") % {"min": format_money(low, currency), "max": format_money(high, currency)}


def _leftover(round: Round) -> str:
    if round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL:
        return _("returns to the collective's cobudget pool")
    return _("expires")


# ---------------------------------------------------------------------------
# opening a round

def round_open_question(round: Round) -> str:
    """What opening credits; empty when the round cannot open yet (opening then says why)."""
    try:
        envelopes = services.round_envelopes(round=round)
    except DomainError:
        return ""
    currency = round.collective.currency
    total = sum(envelopes.values(), ZERO)
    question = ngettext(
        "Opening “%(round)s” credits %(count)s wallet with %(total)s.",
        "Opening “%(round)s” credits %(count)s wallets with %(total)s in total.", len(envelopes),
    ) % {"round": round.name, "count": len(envelopes), "total": format_money(total, currency)}
    if round.funded_from_pool:
        question += " " + _("The money comes from the cobudget pool, which holds %(pool)s.") % {
            "pool": format_money(selectors.pool_balance(round.collective), currency)}
    return question + "\n" + _("From then on its envelopes and rules are locked.")


def round_opened_outcome(round: Round) -> str:
    totals = selectors.round_totals(round)
    return ngettext("Round open: %(count)s wallet credited with %(total)s.",
                    "Round open: %(count)s wallets credited, %(total)s in total.", totals["participants"]) % {
        "count": totals["participants"], "total": format_money(totals["envelopes"], round.collective.currency)}


# ---------------------------------------------------------------------------
# closing a round

@dataclass
class ClosePreview:
    funded: int
    funded_total: Decimal
    partially: int
    unfunded: int
    refunded: Decimal
    left_in_wallets: Decimal


def round_close_preview(round: Round) -> ClosePreview:
    """What the close would decide now, by the round's rules (the same `bucket_outcome` the close applies)."""
    preview = ClosePreview(0, ZERO, 0, 0, ZERO, ZERO)
    # One row an outcome, summed by the database: the coordinator's round page asks this at every load, whatever
    # the number of buckets.
    by_outcome = (Bucket.objects.of(round.collective_id)
                  .filter(round=round, status__in=(BucketStatus.PROPOSED, BucketStatus.OPEN, BucketStatus.FUNDED))
                  .annotate(outcome=services.bucket_outcome_in_sql(round)).order_by().values("outcome")
                  .annotate(count=Count("id"), funded=Sum("account__balance"))
                  .values_list("outcome", "count", "funded"))
    for outcome, count, funded in by_outcome:
        if outcome == BucketStatus.UNFUNDED:
            preview.unfunded += count
            preview.refunded += funded
        else:
            preview.funded += count
            preview.funded_total += funded
            preview.partially += count if outcome == BucketStatus.PARTIALLY_FUNDED else 0
    # Refunds land in the wallets first; what the wallets then hold is what the leftover rule applies to.
    preview.left_in_wallets = selectors.left_in_wallets(round) + preview.refunded
    return preview


def round_close_question(round: Round) -> str:
    preview = round_close_preview(round)
    currency = round.collective.currency
    lines = [ngettext("%(count)s bucket is funded: %(total)s in total.",
                      "%(count)s buckets are funded: %(total)s in total.", preview.funded) % {
        "count": preview.funded, "total": format_money(preview.funded_total, currency)}]
    if preview.partially:
        lines[0] += " " + ngettext(
            "%(count)s of them is accepted below its minimum (from %(threshold)s%%).",
            "%(count)s of them are accepted below their minimum (from %(threshold)s%%).", preview.partially) % {
            "count": preview.partially, "threshold": round.partial_threshold_percent}
    if preview.unfunded:
        lines.append(ngettext(
            "%(count)s bucket did not reach its minimum: %(amount)s go back to the wallets.",
            "%(count)s buckets did not reach their minimum: %(amount)s go back to the wallets.", preview.unfunded,
        ) % {"count": preview.unfunded, "amount": format_money(preview.refunded, currency)})
    lines.append(_("Then the %(amount)s left in the wallets %(fate)s.") % {
        "amount": format_money(preview.left_in_wallets, currency), "fate": _leftover(round)})
    head = _("Closing “%(round)s” now ends its funding; these outcomes are final:") % {"round": round.name}
    return "\n".join([head, *("• " + line for line in lines)])


def round_close_warning(round: Round) -> str:
    """A stronger warning when the funding window has not ended: closing now cuts it short."""
    if not round.funding_closes_at or timezone.now() >= round.funding_closes_at:
        return ""
    return _("Funding was to stay open until %(date)s: closing now ends it early, for everyone.") % {
        "date": date_format(timezone.localtime(round.funding_closes_at), "SHORT_DATETIME_FORMAT")}


def round_closed_outcome(round: Round) -> str:
    """After the close, from what it recorded."""
    currency = round.collective.currency
    buckets = list(Bucket.objects.of(round.collective_id).select_related("account")
                   .filter(round=round, status__in=WINNERS))
    funded_total = sum((selectors.bucket_funded_amount(bucket) for bucket in buckets), ZERO)
    refunded = selectors.refunded_by_bucket(round)
    left = selectors.left_at_close(round)
    text = ngettext("Round closed: %(count)s bucket funded, %(total)s.",
                    "Round closed: %(count)s buckets funded, %(total)s in total.", len(buckets)) % {
        "count": len(buckets), "total": format_money(funded_total, currency)}
    if refunded:
        text += " " + ngettext("%(amount)s from %(count)s unfunded bucket went back to the wallets.",
                               "%(amount)s from %(count)s unfunded buckets went back to the wallets.",
                               len(refunded)) % {"count": len(refunded),
                                                 "amount": format_money(sum(refunded.values(), ZERO), currency)}
    if round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL:
        text += " " + _("%(amount)s left in the wallets returned to the cobudget pool.") % {
            "amount": format_money(left, currency)}
    else:
        text += " " + _("%(amount)s left in the wallets expired.") % {"amount": format_money(left, currency)}
    return text


# ---------------------------------------------------------------------------
# withdrawing a bucket

def bucket_cancel_question(bucket: Bucket) -> str:
    """`bucket` carries its funding (views._decorate)."""
    currency = bucket.collective.currency
    if not bucket.funding.funded_amount:
        return _("Withdraw “%(bucket)s”? Nobody has given to it; it leaves the round for good.") % {
            "bucket": bucket.title}
    if not selectors.allocations_visible(bucket.round):  # who gave, even how many, stays hidden until the close
        return _("Withdraw “%(bucket)s”? The %(amount)s it raised go back to the wallets they came from, and it "
                 "leaves the round for good.") % {
            "bucket": bucket.title, "amount": format_money(bucket.funding.funded_amount, currency)}
    return ngettext(
        "Withdraw “%(bucket)s”? The %(amount)s it raised go back to its funder's wallet, and it leaves the round "
        "for good.",
        "Withdraw “%(bucket)s”? The %(amount)s it raised go back to its %(count)s funders' wallets, and it leaves "
        "the round for good.", bucket.funding.funders_count,
    ) % {"bucket": bucket.title, "amount": format_money(bucket.funding.funded_amount, currency),
         "count": bucket.funding.funders_count}


def bucket_cancelled_outcome(bucket: Bucket) -> str:
    refunds = Allocation.objects.filter(bucket=bucket, kind=AllocationKind.REFUND).aggregate(
        total=Sum("amount"), people=Count("user", distinct=True))
    if not refunds["people"]:
        return _("“%(bucket)s” withdrawn.") % {"bucket": bucket.title}
    return ngettext("“%(bucket)s” withdrawn: %(amount)s went back to %(count)s wallet.",
                    "“%(bucket)s” withdrawn: %(amount)s went back to %(count)s wallets.", refunds["people"]) % {
        "bucket": bucket.title, "count": refunds["people"],
        "amount": format_money(-refunds["total"], bucket.collective.currency)}


# ---------------------------------------------------------------------------
# merging buckets

def bucket_merge_questions(bucket: Bucket, targets: list[Bucket]) -> dict[int, str]:
    """For each bucket `bucket` could merge into, the question that states both goals before and after.

    `bucket` and `targets` carry their funding (views._decorate); what would move follows the merge's own
    per-member rule (`services.merge_split`, summed by the database: `services.merge_moved_by_target`), so the
    figures are the ones the merge will post.
    """
    currency = bucket.collective.currency
    round = bucket.round
    lines = {}
    moved_by_target = services.merge_moved_by_target(bucket, [target.pk for target in targets])
    for target in targets:
        moved = moved_by_target[target.pk]
        returned = bucket.funding.funded_amount - moved
        text = [
            _("Merge “%(source)s” into “%(target)s”:") % {"source": bucket.title, "target": target.title},
            "• " + _("“%(bucket)s”: goal %(goal)s, %(raised)s raised; it is then withdrawn.") % {
                "bucket": bucket.title, "goal": _goal(bucket.min_goal, bucket.max_goal, currency),
                "raised": format_money(bucket.funding.funded_amount, currency)},
            "• " + _("“%(bucket)s” before: goal %(goal)s, %(raised)s raised.") % {
                "bucket": target.title, "goal": _goal(target.min_goal, target.max_goal, currency),
                "raised": format_money(target.funding.funded_amount, currency)},
            "• " + _("“%(bucket)s” after: goal %(goal)s, %(raised)s raised.") % {
                "bucket": target.title,
                "goal": _goal(target.min_goal + bucket.min_goal, target.max_goal + bucket.max_goal, currency),
                "raised": format_money(target.funding.funded_amount + moved, currency)},
        ]
        if returned:
            text.append("• " + _("%(amount)s go back to the wallets: over the per-member maximum of %(max)s.") % {
                "amount": format_money(returned, currency),
                "max": format_money(round.max_per_member_per_bucket, currency)})
        lines[target.pk] = "\n".join(text)
    return lines


def bucket_merged_outcome(target: Bucket) -> str:
    target = Bucket.objects.select_related("account", "collective").get(pk=target.pk)  # after the merge's transfers
    currency = target.collective.currency
    return _("Merged: “%(bucket)s” now needs %(goal)s; %(raised)s raised.") % {
        "bucket": target.title, "goal": _goal(target.min_goal, target.max_goal, currency),
        "raised": format_money(selectors.bucket_funded_amount(target), currency)}
