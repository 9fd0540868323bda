"""Buckets: proposed by participants, approved, edited, withdrawn, merged, completed; their comments and flags."""

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils.translation import gettext as _

from budgets.ledger import account_get_or_create, transfer
from budgets.models import AccountKind
from budgets.selectors import MONEY_FIELD
from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, Forbidden, checked
from contrib_budget.keywords import UNSET, Unset, given
from contrib_budget.money import MAX_BUCKET_GOAL, ZERO, format_money, parse_money
from members.audit import audit_record
from members.models import Collective, Membership, User

from ..models import (
    BUCKET_IMAGE_VALIDATORS,
    Allocation,
    AllocationKind,
    Bucket,
    BucketComment,
    BucketStatus,
    BudgetLine,
    CommentKind,
    MemberBucketTotal,
    Round,
    RoundStatus,
    Wallet,
)
from ..notifications import bucket_approved_notify, bucket_commented_notify, bucket_proposed_notify
from ..permissions import APPROVE_BUCKETS
from ._common import People, is_coordinator, lock_round_shared, person_ids
from .closing import give_back, net_funders
from .rounds import is_participant, proposals_are_open

BUCKET_LIVE = (BucketStatus.DRAFT, BucketStatus.PROPOSED, BucketStatus.OPEN, BucketStatus.FUNDED)


def _bucket_texts(fields: dict) -> None:
    """The title (one line) and description a person typed for a bucket, refused naming the field."""
    if "title" in fields:
        checked("title", fields["title"], text.single_line(150))
    if "description" in fields:
        checked("description", fields["description"], text.multi_line())


def _lines(lines: Iterable[dict[str, Any]], currency: str) -> list[tuple[str, Decimal, Decimal | None]]:
    if not lines:
        raise DomainError(_("Give at least one budget line, or a minimum goal."), "no_budget_line",
                          fields={"min_goal": [_("Required.")]})
    cleaned = []
    for line in lines:
        description = checked("budget_lines", (line.get("description") or "").strip(),
                              text.single_line(200)) or _("Budget")
        # Signed, so that a goal at or below zero gets the goals' own messages below.
        minimum = parse_money(line.get("min_amount"), "min_goal", signed=True, maximum=MAX_BUCKET_GOAL)
        maximum = line.get("max_amount")
        maximum = None if maximum in (None, "") else parse_money(maximum, "max_goal", signed=True,
                                                                 maximum=MAX_BUCKET_GOAL)
        if minimum <= 0:
            raise DomainError(_("A minimum goal must be above zero."), "min_goal",
                              fields={"min_goal": [_("Must be above zero.")]})
        if maximum is not None and maximum < minimum:
            raise DomainError(
                _("The maximum goal (%(max)s) is below the minimum goal (%(min)s).")
                % {"max": format_money(maximum, currency), "min": format_money(minimum, currency)},
                "min_above_max", fields={"max_goal": [_("Must be at least the minimum goal.")]},
            )
        cleaned.append((description[:200], minimum, maximum))
    # The bucket's goals are the lines' sums: they are bounded as one line is.
    parse_money(sum((mn for _d, mn, _mx in cleaned), ZERO), "min_goal", maximum=MAX_BUCKET_GOAL)
    parse_money(sum((mx or mn for _d, mn, mx in cleaned), ZERO), "max_goal", maximum=MAX_BUCKET_GOAL)
    return cleaned


def _set_lines(bucket: Bucket, lines: list[tuple[str, Decimal, Decimal | None]]) -> None:
    bucket.lines.all().delete()
    BudgetLine.objects.bulk_create(
        BudgetLine(collective=bucket.collective, bucket=bucket, description=d, min_amount=mn, max_amount=mx)
        for d, mn, mx in lines
    )
    _recompute_goals(bucket)


def _recompute_goals(bucket: Bucket) -> None:
    lines = list(bucket.lines.all())
    bucket.min_goal = sum((line.min_amount for line in lines), ZERO)
    bucket.max_goal = sum((line.max_amount or line.min_amount for line in lines), ZERO)
    bucket.save(update_fields=["min_goal", "max_goal"])


def _check_carriers(collective: Collective, carriers: People) -> list[int]:
    ids = sorted(person_ids(carriers))
    known = set(Membership.objects.of(collective).filter(user_id__in=ids).values_list("user_id", flat=True))
    if known != set(ids):
        raise DomainError(_("Every carrier must be a member of the collective."), "unknown_carrier",
                          fields={"carriers": [_("Unknown member.")]})
    return ids


def _check_image(image: File) -> None:
    """An allowed image type, under the size cap (the same rules as the page's form)."""
    try:
        for validator in BUCKET_IMAGE_VALIDATORS:
            validator(image)
    except ValidationError as error:
        raise DomainError(error.messages[0], "invalid_image", fields={"image": error.messages}) from None


def bucket_create(*, round: Round, actor: User, title: str, description: str = "", lines: Iterable[dict],
                  carriers: People = (), image: File | None = None) -> Bucket:
    cleaned = _lines(lines, round.collective.currency)
    carrier_ids = _check_carriers(round.collective, [actor, *carriers])
    _bucket_texts({"title": title or "", "description": description or ""})
    if not (title or "").strip():
        raise DomainError(_("Give the bucket a title."), "title", fields={"title": [_("This field is required.")]})
    if image:
        _check_image(image)
    with transaction.atomic():
        # Shared round lock, as allocations take it: no bucket appears while the close runs.
        round = lock_round_shared(round.pk)
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed."), "round_closed")
        if not proposals_are_open(round):
            raise Conflict(_("Bucket proposals are not open in this round."), "proposals_closed")
        if not is_participant(round=round, user=actor):
            raise Forbidden(_("Only the round's participants propose buckets."), "not_participant")
        bucket = Bucket(collective=round.collective, round=round, title=title.strip()[:150], description=description,
                        created_by=actor, min_goal=cleaned[0][1], max_goal=cleaned[0][2] or cleaned[0][1])
        if image:
            bucket.image = image
        bucket.account = account_get_or_create(
            collective=round.collective, kind=AccountKind.BUCKET, code=f"cobudget:bucket:{uuid.uuid4().hex}",
            name=bucket.title,
        )
        bucket.save()
        bucket.carriers.set(carrier_ids)
        _set_lines(bucket, cleaned)
        audit_record(collective=round.collective, actor=actor, action="cobudget.bucket_created", target=bucket,
                     after={"title": bucket.title, "min_goal": str(bucket.min_goal), "max_goal": str(bucket.max_goal)})
    return bucket


def _require_carrier_or_coordinator(bucket: Bucket, actor: User) -> None:
    if bucket.carriers.filter(pk=actor.pk).exists() or is_coordinator(bucket.collective, actor):
        return
    raise Forbidden(_("Only the bucket's carriers or a coordinator can do this."), "not_carrier")


def bucket_update(*, bucket: Bucket, actor: User, title: str | Unset = UNSET, description: str | Unset = UNSET,
                  image: File | None | Unset = UNSET, lines: Iterable[dict] | None = None,
                  carriers: People | None = None) -> Bucket:
    """Change what was passed; the goals (`lines`) only until the bucket opens for funding."""
    fields = given(title=title, description=description, image=image)
    _require_carrier_or_coordinator(bucket, actor)
    _bucket_texts(fields)
    if fields.get("image"):
        _check_image(fields["image"])
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("round").get(pk=bucket.pk)
        if bucket.status not in (BucketStatus.DRAFT, BucketStatus.PROPOSED, BucketStatus.OPEN):
            raise Conflict(_("This bucket can no longer be edited."), "bucket_locked")
        if lines is not None and bucket.status == BucketStatus.OPEN:
            raise Conflict(_("The goals of a bucket open for funding cannot change."), "bucket_open",
                           fields={"budget_lines": [_("Locked while funding is open.")]})
        before = {"title": bucket.title, "min_goal": str(bucket.min_goal), "max_goal": str(bucket.max_goal)}
        for name, value in fields.items():
            setattr(bucket, name, value)
        if not (bucket.title or "").strip():
            raise DomainError(_("Give the bucket a title."), "title", fields={"title": [_("This field is required.")]})
        bucket.save()
        if lines is not None:
            _set_lines(bucket, _lines(lines, bucket.collective.currency))
        if carriers is not None:
            ids = _check_carriers(bucket.collective, carriers)
            if not ids:
                raise DomainError(_("A bucket needs at least one carrier."), "no_carrier",
                                  fields={"carriers": [_("Required.")]})
            bucket.carriers.set(ids)
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_updated", target=bucket,
                     before=before,
                     after={"title": bucket.title, "min_goal": str(bucket.min_goal), "max_goal": str(bucket.max_goal)})
    return bucket


def _check_enough_carriers(bucket: Bucket) -> None:
    count = bucket.carriers.count()
    if count < bucket.round.min_carriers:
        raise DomainError(
            _("This bucket needs at least %(count)s carriers; it has %(have)s.")
            % {"count": bucket.round.min_carriers, "have": count},
            "not_enough_carriers", fields={"carriers": [_("Add co-carriers.")]},
        )


def bucket_propose(*, bucket: Bucket, actor: User) -> Bucket:
    """A draft becomes visible to all; without approval rules it opens for funding at once."""
    _require_carrier_or_coordinator(bucket, actor)
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("round").get(pk=bucket.pk)
        if bucket.status != BucketStatus.DRAFT:
            raise Conflict(_("Only a draft can be proposed."), "not_draft")
        if not proposals_are_open(bucket.round):
            raise Conflict(_("Bucket proposals are not open in this round."), "proposals_closed")
        _check_enough_carriers(bucket)
        bucket.status = BucketStatus.PROPOSED if bucket.round.bucket_approval_required else BucketStatus.OPEN
        bucket.save(update_fields=["status"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_proposed", target=bucket,
                     before={"status": BucketStatus.DRAFT}, after={"status": bucket.status})
        if bucket.status == BucketStatus.PROPOSED:
            bucket_proposed_notify(bucket=bucket, actor=actor)
    return bucket


def bucket_approve(*, bucket: Bucket, actor: User) -> Bucket:
    APPROVE_BUCKETS.require(collective=bucket.collective, actor=actor)
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("round").get(pk=bucket.pk)
        if bucket.status != BucketStatus.PROPOSED:
            raise Conflict(_("Only a proposed bucket can be approved."), "not_proposed")
        if bucket.round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed."), "round_closed")
        _check_enough_carriers(bucket)
        bucket.status = BucketStatus.OPEN
        bucket.save(update_fields=["status"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_approved", target=bucket,
                     before={"status": BucketStatus.PROPOSED}, after={"status": bucket.status})
        bucket_approved_notify(bucket=bucket, actor=actor)
    return bucket


def bucket_cancel(*, bucket: Bucket, actor: User) -> Bucket:
    """Withdraw a bucket: every allocation goes back to its wallet by a return transfer."""
    _require_carrier_or_coordinator(bucket, actor)
    with transaction.atomic():
        round = lock_round_shared(bucket.round_id)
        bucket = (Bucket.objects.select_for_update(of=("self",)).select_related("account", "collective")
                  .get(pk=bucket.pk))
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed: its buckets have their outcome."), "round_closed")
        if bucket.status not in BUCKET_LIVE:
            raise Conflict(_("This bucket is already %(status)s.") % {"status": bucket.get_status_display()},
                           "bucket_not_live")
        before = bucket.status
        returned = give_back(buckets=[bucket], actor=actor, reason="cancel",
                             memo=lambda withdrawn: _("%(bucket)s was withdrawn") % {"bucket": withdrawn.title})
        bucket.status = BucketStatus.CANCELLED
        bucket.save(update_fields=["status"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_cancelled", target=bucket,
                     before={"status": before}, after={"status": bucket.status, "returned": str(returned)})
    return bucket


def bucket_merge(*, bucket: Bucket, into: Bucket, actor: User) -> Bucket:
    """Merge `bucket` into `into`: its lines, carriers and allocations follow; it is then cancelled."""
    if bucket.pk == into.pk:
        raise DomainError(_("A bucket cannot be merged into itself."), "merge_self",
                          fields={"into": [_("Choose another bucket.")]})
    if bucket.round_id != into.round_id or bucket.collective_id != into.collective_id:
        raise DomainError(_("Only buckets of the same round can be merged."), "merge_other_round",
                          fields={"into": [_("Choose a bucket of the same round.")]})
    coordinator = is_coordinator(bucket.collective, actor)
    carries_both = bucket.carriers.filter(pk=actor.pk).exists() and into.carriers.filter(pk=actor.pk).exists()
    if not coordinator and not carries_both:
        raise Forbidden(_("Only someone who carries both buckets, or a coordinator, can merge them."), "not_carrier")
    with transaction.atomic():
        round = lock_round_shared(bucket.round_id)
        both = (Bucket.objects.select_for_update(of=("self",)).select_related("account", "collective")
                .filter(pk__in=[bucket.pk, into.pk]).order_by("pk"))
        locked = {b.pk: b for b in both}
        source, target = locked[bucket.pk], locked[into.pk]
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed."), "round_closed")
        mergeable = (BucketStatus.PROPOSED, BucketStatus.OPEN)
        if source.status not in mergeable or target.status not in mergeable:
            raise Conflict(_("Only proposed or open buckets can be merged."), "not_mergeable")
        funders = net_funders(source)
        if funders and target.status != BucketStatus.OPEN:
            raise Conflict(_("This bucket already has allocations: merge it into a bucket open for funding."),
                           "merge_into_open")
        for line in source.lines.all():
            BudgetLine.objects.create(collective=target.collective, bucket=target, description=line.description,
                                      min_amount=line.min_amount, max_amount=line.max_amount)
        _recompute_goals(target)
        target.carriers.add(*source.carriers.all())
        wallets = {w.pk: w for w in Wallet.objects.filter(round=round).select_related("account")}
        in_target = {row["user_id"]: row["net"] for row in net_funders(target)}
        memo = _("%(a)s merged into %(b)s") % {"a": source.title, "b": target.title}
        moved, returned = ZERO, {}
        for funder in funders:
            wallet = wallets[funder["wallet_id"]]
            move, excess = merge_split(round, funder["net"], in_target.get(funder["user_id"], ZERO))
            common = {"collective": source.collective, "round": round, "wallet": wallet, "user_id": funder["user_id"]}
            if excess:
                txn = transfer(collective=source.collective, source=source.account, destination=wallet.account,
                               amount=excess, kind="cobudget_merge_excess", actor=actor, memo=memo,
                               idempotency_key=f"cobudget:bucket:{source.pk}:merge-excess:{funder['user_id']}",
                               linked=source)
                Allocation.objects.create(bucket=source, amount=-excess, kind=AllocationKind.MERGE_EXCESS,
                                          transaction=txn, **common)
                returned[str(funder["user_id"])] = str(excess)
            if move:
                txn = transfer(collective=source.collective, source=source.account, destination=target.account,
                               amount=move, kind="cobudget_merge", actor=actor, memo=memo,
                               idempotency_key=f"cobudget:bucket:{source.pk}:merge:{funder['user_id']}",
                               linked=source)
                Allocation.objects.create(bucket=source, amount=-move, kind=AllocationKind.MERGE, transaction=txn,
                                          **common)
                Allocation.objects.create(bucket=target, amount=move, kind=AllocationKind.MERGE, transaction=txn,
                                          **common)
                moved += move
        source.status = BucketStatus.CANCELLED
        source.merged_into = target
        source.save(update_fields=["status", "merged_into"])
        audit_record(collective=source.collective, actor=actor, action="cobudget.bucket_merged", target=source,
                     after={"into": target.pk, "moved": str(moved), "returned_over_member_maximum": returned})
    return target


def merge_split(round: Round, net: Decimal, already: Decimal) -> tuple[Decimal, Decimal]:
    """What of a funder's net allocation follows a merge, and what goes back to their wallet.

    The merged bucket must respect the round's per-member maximum too: what a
    member already gave the target plus what follows them may not exceed it;
    the excess returns to their wallet at the merge.
    """
    if round.max_per_member_per_bucket is None:
        return net, ZERO
    move = min(net, max(round.max_per_member_per_bucket - already, ZERO))
    return move, net - move


def merge_moved_by_target(source: Bucket, target_ids: list[int]) -> dict[int, Decimal]:
    """What of `source`'s allocations would follow a merge into each of `target_ids`, by `merge_split`'s rule,
    summed by the database: the bucket's page asks it of its merge targets, whatever the number of funders.
    tests/cobudget/test_merge_preview.py holds it to what the merge moves."""
    funders = (MemberBucketTotal.objects.of(source.collective_id).filter(bucket_id=source.pk, amount__gt=0)
               .order_by().values("bucket_id"))
    cap = source.round.max_per_member_per_bucket
    if cap is None:
        moved = funders.annotate(total=Sum("amount")).values("total")
    else:
        already = MemberBucketTotal.objects.filter(bucket_id=OuterRef(OuterRef("pk")), user_id=OuterRef("user_id"),
                                                   amount__gt=0).values("amount")[:1]
        room = Greatest(Value(cap, output_field=MONEY_FIELD) - Coalesce(Subquery(already), ZERO), ZERO,
                        output_field=MONEY_FIELD)
        moved = funders.annotate(total=Sum(Least(F("amount"), room, output_field=MONEY_FIELD))).values("total")
    return dict(Bucket.objects.of(source.collective_id).filter(pk__any=target_ids)
                .annotate(moved=Coalesce(Subquery(moved), ZERO, output_field=MONEY_FIELD)).values_list("pk", "moved"))


def bucket_complete(*, bucket: Bucket, actor: User) -> Bucket:
    _require_carrier_or_coordinator(bucket, actor)
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update(of=("self",)).get(pk=bucket.pk)
        if bucket.status not in (BucketStatus.FUNDED, BucketStatus.PARTIALLY_FUNDED) or not bucket.settled_at:
            raise Conflict(_("Only a bucket funded at the close can be completed."), "not_funded")
        before = bucket.status
        bucket.status = BucketStatus.COMPLETED
        bucket.save(update_fields=["status"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_completed", target=bucket,
                     before={"status": before}, after={"status": bucket.status})
    return bucket


def bucket_comment(*, bucket: Bucket, actor: User, body: str, kind: str = CommentKind.COMMENT) -> BucketComment:
    body = checked("body", (body or "").strip(), text.multi_line())
    if not body:
        raise DomainError(_("Write something first."), "empty", fields={"body": [_("This field is required.")]})
    if kind not in CommentKind.values:
        raise DomainError(_("Unknown kind of message."), "kind", fields={"kind": [_("Choose a valid kind.")]})
    with transaction.atomic():
        comment = BucketComment.objects.create(collective=bucket.collective, bucket=bucket, author=actor,
                                               kind=kind, body=body)
        audit_record(collective=bucket.collective, actor=actor, action=f"cobudget.bucket_{kind}", target=bucket,
                     after={"comment": comment.pk})
        bucket_commented_notify(bucket=bucket, body=body, actor=actor)
    return comment
