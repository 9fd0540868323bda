"""Reads worth naming: envelopes' weights, wallets, buckets with their funding."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextChoices,
    Value,
    When,
    Window,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Lower, RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from budgets.models import Account, AccountKind, Entry
from contrib_budget.money import ZERO, format_money
from contrib_budget.prepared import Prepared
from members.models import Collective, Membership, Role, User, display_name_of
from members.selectors import WaitingItem, collectives_where, waiting_provider

from .models import (
    Allocation,
    AllocationKind,
    Bucket,
    BucketComment,
    BucketStatus,
    CommentKind,
    Delegation,
    MemberBucketTotal,
    Round,
    RoundMode,
    RoundStatus,
    Wallet,
)


def granted_by_member(collective: Collective, start: date, end: date) -> dict[int, Decimal]:
    """What closings granted each person for work performed between `start` and `end` (inclusive).

    The weight of the `weighted` envelope policy. It reads the payouts of the
    contributive budgets (issue 3), whatever their payment state: a grant
    counts as soon as a closing decided it.
    """
    from budgets.models import Payout

    rows = (
        Payout.objects.of(collective)
        .filter(contribution__performed_on__gte=start, contribution__performed_on__lte=end)
        .values("person_id")
        .annotate(total=Sum("granted"))
    )
    return {row["person_id"]: row["total"] for row in rows if row["total"]}


def default_participant_ids(collective: Collective) -> list[int]:
    """Every holder of the member role, in a stable order."""
    return list(
        Membership.objects.of(collective)
        .filter(roles__contains=[Role.MEMBER.value])
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def allocations_visible(round: Round) -> bool:
    """Whether others' per-person allocations may be shown."""
    return not round.hide_allocations_until_close or round.status == RoundStatus.CLOSED


def _wallet_in(collective_id: int, round_id: int, user_id: int) -> QuerySet[Wallet]:
    delegations = Delegation.objects.filter(Q(delegator_id=user_id) | Q(delegate_id=user_id),
                                            collective_id=collective_id, round_id=round_id, revoked_at__isnull=True)
    return (Wallet.objects.filter(collective_id=collective_id, round_id=round_id, user_id=user_id)
            .select_related("account").annotate(in_delegation=Exists(delegations)).order_by("pk")[:1])


# Prepared (contrib_budget.prepared): the round's page, its live refresh every few seconds and the bucket's page
# read the wallet, and compiling the query cost more than running it. So are the buckets' funders below.
_WALLET_IN = Prepared(_wallet_in)


def wallet_of(round: Round, user: User | AnonymousUser) -> Wallet | None:
    """`user`'s wallet in `round`, with its account; `in_delegation` says whether its owner delegated it or holds
    a delegated wallet (the pages read the delegations only then)."""
    if not getattr(user, "is_authenticated", False):
        return None
    found = _WALLET_IN.rows(collective_id=round.collective_id, round_id=round.pk, user_id=user.pk)
    return found[0] if found else None


def wallet_allocated(wallet: Wallet) -> Decimal:
    """What the wallet's owner has in buckets now (net of what came back)."""
    total = Allocation.objects.filter(wallet=wallet).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


@dataclass
class BucketFunding:
    funded_amount: Decimal = ZERO
    funders_count: int = 0
    my_amount: Decimal = ZERO
    # (user id, name, amount) of the biggest funders, as many as asked; only filled when allocations are visible.
    funders: list = field(default_factory=list)


def _funders_of(bucket_ids: list[int]) -> QuerySet[MemberBucketTotal]:
    return MemberBucketTotal.objects.filter(bucket_id__any=bucket_ids, amount__gt=0)


_FUNDERS_COUNTED = Prepared(lambda bucket_ids, user_id: (
    _funders_of(bucket_ids).order_by().values("bucket_id")
    .annotate(count=Count("id"), mine=Sum("amount", filter=Q(user_id=user_id), default=ZERO))
    .values_list("bucket_id", "count", "mine")
))
_BIGGEST_FUNDERS = Prepared(lambda bucket_ids, most: (
    _funders_of(bucket_ids).values("bucket_id", "user_id", "user__name", "user__email", net=F("amount"))
    .annotate(rank=Window(RowNumber(), partition_by=F("bucket_id"), order_by=[F("amount").desc(), F("user_id")]))
    .filter(rank__lte=most).order_by("bucket_id", "rank")
))


def funders_of_bucket(bucket: Bucket, *, only_user_id: int | None = None) -> QuerySet[MemberBucketTotal, Any]:
    """A bucket's funders, the biggest first (those of `only_user_id` alone when given), as rows of `user_id`,
    `user__name`, `user__email` and `net`: a list to paginate, never read whole."""
    funders = _funders_of([bucket.pk])
    if only_user_id is not None:
        funders = funders.filter(user_id=only_user_id)
    return funders.values("user_id", "user__name", "user__email", net=F("amount")).order_by("-amount", "user_id")


def funding_by_bucket(buckets: list[Bucket], user: User | AnonymousUser | None, *,
                      naming: int = 0) -> dict[int, BucketFunding]:
    """Funded amounts, funder counts and what `user` gave, for many buckets in one query summed by the database
    (one row a bucket, from the members' running totals rather than every allocation); with `naming`, the
    `naming` biggest funders of each bucket named, in one more query (never a row for every funder: 50 buckets
    of 1,000 funders each would be 50,000)."""
    result = {bucket.pk: BucketFunding(funded_amount=bucket_funded_amount(bucket)) for bucket in buckets}
    if not buckets:
        return result
    bucket_ids = [bucket.pk for bucket in buckets]
    # Nobody has the id 0: without a person, what they gave is nothing.
    for bucket_id, count, my_amount in _FUNDERS_COUNTED.rows(bucket_ids=bucket_ids,
                                                            user_id=getattr(user, "pk", None) or 0):
        result[bucket_id].funders_count, result[bucket_id].my_amount = count, my_amount
    if naming:
        for row in _BIGGEST_FUNDERS.rows(bucket_ids=bucket_ids, most=naming):
            name = display_name_of(row["user__name"], row["user__email"])
            result[row["bucket_id"]].funders.append((row["user_id"], name, row["net"]))
    return result


def with_carrier_ids(queryset: QuerySet[Bucket]) -> QuerySet[Bucket]:
    """Each bucket with `carrier_ids`, sorted, from a subquery: a list of buckets needs no person's row for them."""
    carriers = Bucket.carriers.through.objects.filter(bucket_id=OuterRef("pk")).order_by("user_id").values("user_id")
    return queryset.annotate(carrier_ids=ArraySubquery(carriers))


def carrier_ids(bucket: Bucket) -> list[int]:
    """The ids of the bucket's carriers, sorted (read by `with_carrier_ids`, or from the bucket's own relation)."""
    annotated = getattr(bucket, "carrier_ids", None)
    return annotated if annotated is not None else sorted(carrier.pk for carrier in bucket.carriers.all())


def bucket_funded_amount(bucket: Bucket) -> Decimal:
    """What the bucket raised: its ledger account, plus what it already handed to an envelope."""
    return bucket.account.balance + bucket.converted_amount


def buckets_visible_to(queryset: QuerySet[Bucket], user: User | AnonymousUser | None) -> QuerySet[Bucket]:
    """The buckets of `queryset` that `user` may see: a draft only by its carriers."""
    # Without a person (no pk), `user_id=None` is `user_id IS NULL`, which no carrier row matches.
    return _visible_to_id(queryset, getattr(user, "pk", None))


def _visible_to_id(queryset: QuerySet[Bucket], user_id: int | None) -> QuerySet[Bucket]:
    carries = Exists(Bucket.carriers.through.objects.filter(  # type: ignore[misc]
        bucket_id=OuterRef("pk"), user_id=user_id))
    return queryset.filter(~Q(status=BucketStatus.DRAFT) | carries)


_BUCKET_VISIBLE = Prepared(lambda collective_id, bucket_id, user_id: _visible_to_id(
    Bucket.objects.filter(collective_id=collective_id, pk=bucket_id), user_id))


def bucket_visible_to(collective_id: int, bucket_id: int, user_id: int) -> Bucket | None:
    """One bucket of the collective, if the person may see it, by a query compiled once per process: an allocation
    looks its bucket up only to answer 404 on one the person may not see, and compiling cost more than running."""
    found = _BUCKET_VISIBLE.rows(collective_id=collective_id, bucket_id=bucket_id, user_id=user_id)
    return found[0] if found else None


def round_buckets(round: Round, *, include_drafts_of: User | AnonymousUser | None = None) -> QuerySet[Bucket]:
    """The buckets of a round that others can see (drafts only for their carriers), withdrawn ones last."""
    queryset = buckets_visible_to(Bucket.objects.of(round.collective_id).filter(round=round).select_related("account"),
                                  include_drafts_of)
    withdrawn_last = Case(When(status=BucketStatus.CANCELLED, then=Value(1)), default=Value(0))
    return queryset.order_by(withdrawn_last, "created_at", "id")


BUCKET_WINNERS = (BucketStatus.FUNDED, BucketStatus.PARTIALLY_FUNDED, BucketStatus.COMPLETED)


def results_buckets(round: Round) -> QuerySet[Bucket]:
    """The round's buckets others can see, for its results: the funded ones first, then in the order proposed."""
    winners_first = Case(When(status__in=BUCKET_WINNERS, then=Value(0)), default=Value(1))
    buckets = round_buckets(round)
    return buckets.order_by(winners_first, *buckets.query.order_by)


class BucketSort(TextChoices):
    """The orders a member may read a round's buckets in (the first is the default)."""

    PROPOSED = "proposed", gettext_lazy("In the order proposed")
    NEWEST = "newest", gettext_lazy("Newest first")
    MOST_FUNDED = "most_funded", gettext_lazy("Most funded first")
    CLOSEST = "closest", gettext_lazy("Closest to their goal")
    TITLE = "title", gettext_lazy("Title (A to Z)")


def _funded() -> CombinedExpression:
    return F("account__balance") + F("converted_amount")


def _sort_keys(sort: str) -> list:
    if sort == BucketSort.NEWEST:
        return [F("created_at").desc(), F("id").desc()]
    if sort == BucketSort.MOST_FUNDED:
        return [F("funded").desc(), "id"]
    if sort == BucketSort.CLOSEST:
        # What is still needed, least first; a bucket that needs nothing more is at its goal already: last.
        reached = Case(When(funded__gte=F("max_goal"), then=Value(1)), default=Value(0))
        return [reached, F("max_goal") - F("funded"), "id"]
    if sort == BucketSort.TITLE:
        return [Lower("title"), "id"]
    return ["created_at", "id"]


def buckets_found(buckets: QuerySet[Bucket], *, search: str = "", sort: str = "") -> QuerySet[Bucket]:
    """`buckets` whose title or description holds `search` (any case), in the order `sort` names (a
    `BucketSort`), withdrawn ones last whatever the order."""
    if search:
        buckets = buckets.filter(Q(title__icontains=search) | Q(description__icontains=search))
    withdrawn_last = Case(When(status=BucketStatus.CANCELLED, then=Value(1)), default=Value(0))
    return buckets.annotate(funded=_funded()).order_by(withdrawn_last, *_sort_keys(sort))


def _wallets(round: Round) -> QuerySet[Wallet]:
    return Wallet.objects.of(round.collective_id).filter(round=round)


def participants_count(round: Round) -> int:
    return _wallets(round).count()


def left_in_wallets(round: Round) -> Decimal:
    """What the round's wallets hold now."""
    return _wallets(round).aggregate(left=Sum("account__balance"))["left"] or ZERO


def left_at_close(round: Round) -> Decimal:
    """What the close took out of the wallets (returned to the pool or expired), from the ledger."""
    settled = (Entry.objects.filter(account__in=_wallets(round).values("account_id"),
                                    transaction__kind__in=("cobudget_wallet_return", "cobudget_wallet_expiry"))
               .aggregate(total=Sum("amount"))["total"])
    return -(settled or ZERO)


def round_totals(round: Round) -> dict[str, Decimal | int]:
    """The round's envelopes, what is in buckets and what is left in wallets, for its results page; the pages
    that need one of these figures ask for that one alone."""
    totals = _wallets(round).aggregate(envelopes=Sum("envelope"), left=Sum(F("account__balance")))
    return {
        "envelopes": totals["envelopes"] or ZERO,
        "left_in_wallets": totals["left"] or ZERO,
        "left_at_close": left_at_close(round),
        "participants": participants_count(round),
    }


def returned_at_merge(round: Round, user: User) -> QuerySet[Allocation]:
    """What merges sent back to `user`'s wallet because the merged bucket would exceed the per-member maximum."""
    return (Allocation.objects.of(round.collective_id)
            .filter(round=round, user=user, kind=AllocationKind.MERGE_EXCESS)
            .select_related("bucket", "bucket__merged_into").order_by("created_at", "id"))


def pool_balance(collective: Collective) -> Decimal:
    """What earlier rounds returned to the collective's cobudget pool and no round has drawn yet."""
    balance = (Account.objects.of(collective).filter(kind=AccountKind.POOL, code="cobudget:pool")
               .values_list("balance", flat=True).first())
    return balance if balance is not None else ZERO


def refunded_by_bucket(round: Round, *, buckets: list[Bucket] | None = None) -> dict[int, Decimal]:
    """What the close gave back to the wallets, per unfunded bucket (what it had raised); of `buckets` only when
    given."""
    rows = Allocation.objects.of(round.collective_id).filter(round=round, kind=AllocationKind.REFUND)
    if buckets is not None:
        rows = rows.filter(bucket__in=[bucket.pk for bucket in buckets])
    rows = rows.values("bucket_id").annotate(total=Sum("amount"))
    return {row["bucket_id"]: -row["total"] for row in rows}


def delegations_of(round: Round, user: User | AnonymousUser) -> tuple[Delegation | None, list[Wallet]]:
    """`user`'s active delegation in `round` (with its delegate) and the wallets delegated to them (with their
    accounts and owners): one query when nobody delegated to them, two when someone did."""
    if not getattr(user, "is_authenticated", False):
        return None, []
    given, received = None, False
    for delegation in (Delegation.objects.of(round.collective_id).select_related("delegate")
                       .filter(Q(delegator=user) | Q(delegate=user), round=round, revoked_at__isnull=True)):
        if delegation.delegator_id == user.pk:
            given = delegation
        else:
            received = True
    return given, wallets_delegated_to(round, user) if received else []


def delegation_given(round: Round, user: User | AnonymousUser) -> Delegation | None:
    """`user`'s active delegation of their wallet in `round`, with its delegate; None without one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (Delegation.objects.of(round.collective_id).select_related("delegate")
            .filter(round=round, delegator=user, revoked_at__isnull=True).first())


def wallets_delegated_to(round: Round, user: User | AnonymousUser) -> list[Wallet]:
    """The wallets of `round` delegated to `user` now, with their accounts and owners, in one query."""
    if not getattr(user, "is_authenticated", False):
        return []
    delegators = Delegation.objects.of(round.collective_id).filter(round=round, delegate=user,
                                                                revoked_at__isnull=True).values("delegator_id")
    return list(Wallet.objects.of(round.collective_id).filter(round=round, user_id__in=delegators)
                .select_related("account", "user").order_by("user__name", "user_id"))


def given_on_behalf(round: Round, bucket_ids: Iterable[int], *,
                    owner_ids: Iterable[int] | None = None) -> dict[int, list[tuple]]:
    """What delegates gave on others' behalf to each of the buckets (net), in one query: per bucket id, rows of
    (delegate id, delegate's name, owner id, owner's name, amount); only for the wallets of `owner_ids` when
    given (a page of funders)."""
    rows = (Allocation.objects.of(round.collective_id)
            .filter(round=round, bucket_id__in=list(bucket_ids), made_by__isnull=False)
            .values("bucket_id", "made_by_id", "made_by__name", "made_by__email", "user_id", "user__name",
                    "user__email")
            .annotate(net=Sum("amount")).filter(net__gt=0).order_by("bucket_id", "-net", "made_by_id", "user_id"))
    if owner_ids is not None:
        rows = rows.filter(user_id__in=list(owner_ids))
    found: dict[int, list[tuple]] = {}
    for row in rows:
        found.setdefault(row["bucket_id"], []).append((
            row["made_by_id"], display_name_of(row["made_by__name"], row["made_by__email"]),
            row["user_id"], display_name_of(row["user__name"], row["user__email"]), row["net"]))
    return found


# ---------------------------------------------------------------------------
# "what waits for me" on the home page (registered from CobudgetConfig.ready)

def _funding_open_at(now: datetime) -> Q:
    """Rounds whose funding is open at `now`, as a filter on Round (prefix-free)."""
    return (Q(status=RoundStatus.OPEN) & (Q(funding_opens_at__isnull=True) | Q(funding_opens_at__lte=now))
            & (Q(funding_closes_at__isnull=True) | Q(funding_closes_at__gt=now)))


# The dashboard's lines are prepared queries (contrib_budget.prepared): compiled once, not on every visit.
_WALLETS_HOLDING_MONEY = Prepared(lambda user_id, now: Wallet.objects.filter(
    user_id=user_id, account__balance__gt=0, round__in=Round.objects.filter(_funding_open_at(now)),
).select_related("account", "round", "collective").order_by("round__funding_closes_at", "round_id"))


@waiting_provider
def _money_left_in_my_wallets(user: User) -> list[WaitingItem]:
    """Participants: open rounds where their wallet still holds money, in one query."""
    items = []
    for wallet in _WALLETS_HOLDING_MONEY.rows(user_id=user.pk, now=timezone.now()):
        values = {"amount": format_money(wallet.account.balance, wallet.collective.currency),
                  "round": wallet.round.name}
        closes = wallet.round.funding_closes_at
        if closes:
            values["date"] = date_format(timezone.localtime(closes), "SHORT_DATETIME_FORMAT")
            title = _("Your wallet still holds %(amount)s in %(round)s (funding closes %(date)s)") % values
        else:
            title = _("Your wallet still holds %(amount)s in %(round)s") % values
        items.append(WaitingItem(title=title,
                                 url=reverse("cobudget_round", args=[wallet.collective.slug, wallet.round_id]),
                                 collective=wallet.collective, due=closes, action=_("Give")))
    return items


def _questioned_buckets_of(user_id: int) -> QuerySet[Bucket]:
    latest = BucketComment.objects.filter(bucket=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Bucket.objects.filter(carriers=user_id, status__in=(BucketStatus.DRAFT, BucketStatus.PROPOSED,
                                                             BucketStatus.OPEN, BucketStatus.FUNDED))
        .exclude(round__status=RoundStatus.CLOSED)
        .annotate(last_kind=Subquery(latest.values("kind")[:1]), last_author=Subquery(latest.values("author")[:1]))
        .filter(last_kind=CommentKind.QUESTION)
        .exclude(last_author=user_id)
        .select_related("collective")
        .order_by("-id")[:20]
    )


_QUESTIONED_BUCKETS_OF = Prepared(_questioned_buckets_of)


@waiting_provider
def _questions_on_my_buckets(user: User) -> list[WaitingItem]:
    """Carriers: live buckets whose latest message is somebody else's question."""
    return [
        WaitingItem(
            title=_("Your bucket %(title)s has a question waiting") % {"title": bucket.title},
            url=reverse("cobudget_bucket", args=[bucket.collective.slug, bucket.pk]),
            collective=bucket.collective,
            action=_("Answer"),
        )
        for bucket in _QUESTIONED_BUCKETS_OF.rows(user_id=user.pk)
    ]


def _buckets_to_approve_per_round(user_id: int) -> QuerySet:
    coordinated = collectives_where(user_id, Role.COORDINATOR.value)
    return (
        Bucket.objects.filter(collective_id__in=coordinated, status=BucketStatus.PROPOSED,
                              round__bucket_approval_required=True)
        .exclude(round__status=RoundStatus.CLOSED)
        .values("round_id", "round__name", "collective_id", "collective__slug", "collective__name")
        .annotate(count=Count("id"))
        .order_by("collective__name", "round_id")
    )


_BUCKETS_TO_APPROVE_PER_ROUND = Prepared(_buckets_to_approve_per_round)


@waiting_provider
def _buckets_to_approve(user: User) -> list[WaitingItem]:
    """Coordinators: proposed buckets of rounds that need approval, one line per round."""
    return [
        WaitingItem(
            title=ngettext(
                "%(count)d bucket waits for your approval in %(round)s",
                "%(count)d buckets wait for your approval in %(round)s",
                row["count"],
            ) % {"count": row["count"], "round": row["round__name"]},
            url=reverse("cobudget_round", args=[row["collective__slug"], row["round_id"]]),
            collective=Collective(pk=row["collective_id"], slug=row["collective__slug"], name=row["collective__name"]),
            action=_("Approve"),
        )
        for row in _BUCKETS_TO_APPROVE_PER_ROUND.rows(user_id=user.pk)
    ]


def explained(round: Round, buckets: Iterable[Bucket]) -> list[dict]:
    """`buckets` of `round` with what each holds and, once an Equal Shares round has closed, why the Method of
    Equal Shares selected it or not: its supporters, what each paid, what it lacked."""
    outcomes = round.results.get("buckets", {})
    buckets = list(buckets)
    behalf = (given_on_behalf(round, [bucket.pk for bucket in buckets])
              if round.mode == RoundMode.LIVE and allocations_visible(round) else {})
    rows = []
    for bucket in buckets:
        outcome = outcomes.get(str(bucket.pk), {})
        rows.append({
            "id": bucket.pk, "title": bucket.title, "status": bucket.status, "min_goal": bucket.min_goal,
            "funded": bucket.account.balance, "selected": outcome.get("selected"), "reason": outcome.get("reason"),
            "supporters": outcome.get("supporters", []),
            "shares": {int(user_id): Decimal(share) for user_id, share in outcome.get("shares", {}).items()},
            "missing": Decimal(outcome["missing"]) if outcome.get("missing") else None,
            "given_on_behalf": [{"made_by": made_by, "made_by_name": name, "user": owner, "amount": amount}
                                for made_by, name, owner, _owner_name, amount in behalf.get(bucket.pk, [])],
        })
    return rows
