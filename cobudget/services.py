"""Every write of the cobudget: rounds, wallets, buckets, allocations and the close.

Lock order, everywhere: the round row (FOR SHARE by allocations and bucket
changes, FOR UPDATE by opening and closing), then bucket rows (FOR UPDATE, by
id), then ledger accounts (conditional UPDATEs by id, in budgets.ledger). So
an allocation never races the close, two allocations to one bucket run one
after the other, and two allocations from one wallet can never overdraw it.
"""

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.ledger import (
    ACCOUNTS_ALLOWED_NEGATIVE,
    InsufficientFunds,
    account_get_or_create,
    transaction_post,
    transfer,
)
from budgets.models import Account, AccountKind
from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, Forbidden, checked, validated_or_raise
from contrib_budget.money import (
    MAX_ALLOCATION, MAX_BUCKET_GOAL, MAX_ENVELOPE, ZERO, format_money, parse_money, to_money,
)
from members.audit import audit_record
from members.models import Collective, Membership, Role

from . import selectors
from .envelopes import weighted_envelopes
from .models import (
    BUCKET_IMAGE_VALIDATORS,
    Allocation,
    AllocationKind,
    Bucket,
    BucketComment,
    BucketFlag,
    BucketStatus,
    BudgetLine,
    CommentKind,
    EnvelopePolicy,
    LeftoverPolicy,
    OverallocationMode,
    PartialPolicy,
    Round,
    RoundCloseRequest,
    RoundStatus,
    Wallet,
)
from .notifications import (
    bucket_approved_notify,
    bucket_commented_notify,
    bucket_funded_notify,
    bucket_proposed_notify,
    round_closed_notify,
    round_opened_notify,
)

logger = logging.getLogger(__name__)


ROUND_FIELDS = (
    "name", "description", "guidelines", "proposals_open_at", "proposals_close_at", "funding_opens_at",
    "funding_closes_at", "envelope_policy", "envelope_amount", "manual_envelopes", "weight_from", "weight_to",
    "envelope_floor", "envelope_cap", "max_per_member_per_bucket", "allow_retract",
    "hide_allocations_until_close", "bucket_approval_required", "min_carriers", "partial_policy",
    "partial_threshold_percent", "leftover_policy", "overallocation_mode", "funded_from_pool",
)
# The round's amounts, each bounded as its kind is.
ROUND_AMOUNTS = {"envelope_amount": MAX_ENVELOPE, "envelope_floor": MAX_ENVELOPE, "envelope_cap": MAX_ENVELOPE,
                 "max_per_member_per_bucket": MAX_ALLOCATION}
# What may still change once the round is open: words and the calendar, never the money rules.
ROUND_FIELDS_WHILE_OPEN = (
    "name", "description", "guidelines", "proposals_open_at", "proposals_close_at", "funding_closes_at",
)
BUCKET_LIVE = (BucketStatus.DRAFT, BucketStatus.PROPOSED, BucketStatus.OPEN, BucketStatus.FUNDED)


# ---------------------------------------------------------------------------
# helpers

def _validated(instance, exclude: tuple[str, ...] = ()) -> None:
    validated_or_raise(instance, exclude, validate_unique=False)


def _bucket_texts(fields: dict) -> None:
    """The title (one line) and description a person typed for a bucket, refused naming the field."""
    if "title" in fields:
        checked("title", fields["title"], text.single_line(150))
    if "description" in fields:
        checked("description", fields["description"], text.multi_line())


def _lock_round_shared(round_id: int) -> Round:
    """Take the round row FOR SHARE: many allocations at once, but never during the close."""
    rows = list(Round.objects.raw("SELECT * FROM cobudget_round WHERE id = %s FOR SHARE", [round_id]))
    return rows[0]


def _is_coordinator(collective: Collective, user) -> bool:
    return Membership.objects.of(collective).filter(user=user, roles__contains=[Role.COORDINATOR.value]).exists()


def _round_state(round: Round) -> dict:
    state = {}
    for name in ROUND_FIELDS + ("status",):
        value = getattr(round, name)
        state[name] = str(value) if value is not None and not isinstance(value, (bool, int, dict, str)) else value
    return state


def pool_account(collective: Collective) -> Account:
    return account_get_or_create(collective=collective, kind=AccountKind.POOL, code="cobudget:pool",
                                 name=_("Cobudget pool"))


def round_source_account(round: Round) -> Account:
    """Where a round's envelopes come from, and where expired money goes back."""
    return account_get_or_create(collective=round.collective, kind=AccountKind.FUNDING_SOURCE,
                                 code=f"cobudget:round:{round.pk}:source",
                                 name=round.name)


# ---------------------------------------------------------------------------
# rounds

def _check_round_amounts(round: Round) -> None:
    for name, maximum in ROUND_AMOUNTS.items():
        value = getattr(round, name)
        if value not in (None, ""):
            setattr(round, name, parse_money(value, name, maximum=maximum))


def _check_round_rules(round: Round) -> None:
    _check_round_amounts(round)
    if round.envelope_policy == EnvelopePolicy.WEIGHTED and (not round.weight_from or not round.weight_to):
        raise DomainError(_("A weighted round needs the dates of the contributions that weigh."), "weight_dates",
                          fields={"weight_from": [_("Required for weighted envelopes.")]})
    if round.weight_from and round.weight_to and round.weight_from > round.weight_to:
        raise DomainError(_("The contributions' date range ends before it starts."), "weight_dates",
                          fields={"weight_to": [_("Must be on or after the start.")]})
    if round.envelope_floor is not None and round.envelope_cap is not None and round.envelope_floor > round.envelope_cap:
        raise DomainError(_("The minimum envelope is above the maximum."), "floor_above_cap",
                          fields={"envelope_floor": [_("Must not exceed the maximum envelope.")]})
    windows = [("proposals_open_at", "proposals_close_at"), ("funding_opens_at", "funding_closes_at")]
    for start, end in windows:
        if getattr(round, start) and getattr(round, end) and getattr(round, start) >= getattr(round, end):
            raise DomainError(_("A window must close after it opens."), "window_order",
                              fields={end: [_("Must be after the opening.")]})
    if not isinstance(round.manual_envelopes, dict):
        raise DomainError(_("Give the envelopes as member → amount."), "manual_envelopes",
                          fields={"manual_envelopes": [_("Expected an object.")]})
    cleaned = {}
    for key, value in round.manual_envelopes.items():
        try:
            user_id = int(key)
        except (TypeError, ValueError):
            raise DomainError(_("Unknown member in the envelopes."), "manual_envelopes",
                              fields={"manual_envelopes": [_("Keys are member ids.")]}) from None
        # Signed, so that a negative envelope gets the envelope's own message below.
        amount = parse_money(value, "manual_envelopes", signed=True, maximum=MAX_ENVELOPE)
        if amount < 0:
            raise DomainError(_("An envelope cannot be negative."), "negative_amount",
                              fields={"manual_envelopes": [_("Must not be negative.")]})
        cleaned[str(user_id)] = str(amount)
    if cleaned:
        known = set(Membership.objects.of(round.collective).filter(user_id__in=[int(k) for k in cleaned])
                    .values_list("user_id", flat=True))
        if len(known) != len(cleaned):
            raise DomainError(_("Every envelope must go to a member of the collective."), "manual_envelopes",
                              fields={"manual_envelopes": [_("Unknown member.")]})
    round.manual_envelopes = cleaned


def round_create(*, collective: Collective, actor, participants=None, **fields) -> Round:
    round = Round(collective=collective, created_by=actor, **{k: v for k, v in fields.items() if k in ROUND_FIELDS})
    _check_round_rules(round)
    _validated(round, exclude=("collective", "created_by"))
    with transaction.atomic():
        round.save()
        if participants:
            round_set_participants(round=round, users=participants)
        audit_record(collective=collective, actor=actor, action="cobudget.round_created", target=round,
                     after=_round_state(round))
    return round


def round_set_participants(*, round: Round, users) -> None:
    ids = {getattr(u, "pk", u) for u in users}
    members = set(Membership.objects.of(round.collective).filter(user_id__in=ids).values_list("user_id", flat=True))
    if members != ids:
        raise DomainError(_("Every participant must be a member of the collective."), "unknown_participant",
                          fields={"participants": [_("Unknown member.")]})
    round.participants.set(sorted(ids))


def round_update(*, round: Round, actor, participants=None, **fields) -> Round:
    with transaction.atomic():
        round = Round.objects.select_for_update().get(pk=round.pk)
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("A closed round cannot change."), "round_closed")
        refused = _locked_changes(round, fields, participants)
        if refused:
            raise Conflict(
                _("The round is open: %(fields)s can no longer change. Nothing was saved.")
                % {"fields": ", ".join(f"“{_round_field_label(name)}”" for name in refused)}, "round_open",
                fields={name: [_("Locked since the round opened: the wallets were credited under these rules.")]
                        for name in refused})
        before = _round_state(round)
        for name, value in fields.items():
            setattr(round, name, value)
        _check_round_rules(round)
        _validated(round, exclude=("collective", "created_by"))
        round.save()
        if participants is not None:
            round_set_participants(round=round, users=participants)
        audit_record(collective=round.collective, actor=actor, action="cobudget.round_updated", target=round,
                     before=before, after=_round_state(round))
    return round


def _locked_changes(round: Round, fields: dict, participants) -> list[str]:
    """The fields a request would change although the round's state locks them.

    A locked field sent with its current value is no change: a client may send back the whole round it read
    (and the set-up page does), only a real change is refused, never silently dropped.
    """
    allowed = ROUND_FIELDS if round.status == RoundStatus.DRAFT else ROUND_FIELDS_WHILE_OPEN
    refused = [name for name, value in fields.items()
               if name not in allowed and (name not in ROUND_FIELDS or not _same_value(round, name, value))]
    if participants is not None and round.status != RoundStatus.DRAFT:
        if {getattr(user, "pk", user) for user in participants} != set(round.participants.values_list("pk", flat=True)):
            refused.append("participants")
    return refused


def _same_value(round: Round, name: str, value) -> bool:
    current = getattr(round, name)
    if name != "manual_envelopes":
        return current == value
    try:
        return ({str(key): to_money(Decimal(str(amount))) for key, amount in (value or {}).items()}
                == {str(key): to_money(Decimal(str(amount))) for key, amount in current.items()})
    except (AttributeError, InvalidOperation, ValueError, TypeError):
        return False


def _round_field_label(name: str) -> str:
    try:
        return str(Round._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def round_envelopes(*, round: Round) -> dict[int, Decimal]:
    """Each participant's envelope by the round's policy (user id → amount)."""
    if round.envelope_policy == EnvelopePolicy.MANUAL:
        envelopes = {int(k): Decimal(v) for k, v in round.manual_envelopes.items()}
        if not envelopes:
            raise DomainError(_("Set at least one member's envelope."), "no_participants",
                              fields={"manual_envelopes": [_("Required for manual envelopes.")]})
        return envelopes
    participants = sorted(round.participants.values_list("pk", flat=True)) or selectors.default_participant_ids(
        round.collective)
    if not participants:
        raise DomainError(_("This round has no participants."), "no_participants")
    if not round.envelope_amount:
        raise DomainError(_("Set the envelope amount."), "envelope_amount",
                          fields={"envelope_amount": [_("Required.")]})
    if round.envelope_policy == EnvelopePolicy.EQUAL:
        return {user_id: round.envelope_amount for user_id in participants}
    granted = selectors.granted_by_member(round.collective, round.weight_from, round.weight_to)
    return weighted_envelopes(
        total=round.envelope_amount, weights={p: granted.get(p, ZERO) for p in participants},
        floor=round.envelope_floor, cap=round.envelope_cap, rotation=round.pk,
    )


def _wallet_accounts(round: Round, user_ids: list[int]) -> dict[int, Account]:
    """The wallets' ledger accounts, in a few queries whatever the number of participants (idempotent).

    Their names are data, not sentences: the member's name and the round's,
    readable in every language (the account kind says it is a wallet).
    """
    collective = round.collective
    codes = {user_id: f"cobudget:wallet:{round.pk}:{user_id}" for user_id in user_ids}
    names = {user.pk: user.display_name for user in get_user_model().objects.filter(pk__in=user_ids)}
    Account.objects.bulk_create(
        [Account(collective=collective, kind=AccountKind.WALLET, code=code, currency=collective.currency,
                 name=f"{names.get(user_id, user_id)} · {round.name}"[:200],
                 allow_negative=AccountKind.WALLET in ACCOUNTS_ALLOWED_NEGATIVE)
         for user_id, code in codes.items()],
        ignore_conflicts=True,
    )
    by_code = {account.code: account for account in Account.objects.filter(collective=collective,
                                                                            code__in=codes.values())}
    return {user_id: by_code[code] for user_id, code in codes.items()}


def round_open(*, round: Round, actor) -> Round:
    """Open the round: every participant's wallet is credited, in one ledger transaction."""
    with transaction.atomic():
        round = Round.objects.select_for_update().select_related("collective").get(pk=round.pk)
        if round.status != RoundStatus.DRAFT:
            raise Conflict(_("This round is already open or closed."), "round_not_draft")
        envelopes = round_envelopes(round=round)
        collective = round.collective
        source = pool_account(collective) if round.funded_from_pool else round_source_account(round)
        accounts = _wallet_accounts(round, sorted(envelopes))
        Wallet.objects.bulk_create(
            Wallet(collective=collective, round=round, user_id=user_id, envelope=amount, account=accounts[user_id])
            for user_id, amount in sorted(envelopes.items())
        )
        legs = [(accounts[user_id], amount) for user_id, amount in sorted(envelopes.items()) if amount]
        total = sum((amount for _a, amount in legs), ZERO)
        if total:
            try:
                transaction_post(collective=collective, kind="cobudget_round_open", legs=[(source, -total), *legs],
                                 memo=_("Envelopes of %(round)s") % {"round": round.name}, actor=actor,
                                 idempotency_key=f"cobudget:round:{round.pk}:open", linked=round)
            except InsufficientFunds:
                source.refresh_from_db()
                raise Conflict(
                    _("The envelopes total %(total)s but the pool holds only %(pool)s.")
                    % {"total": format_money(total, collective.currency),
                       "pool": format_money(source.balance, collective.currency)}, "pool_insufficient",
                    fields={"funded_from_pool": [
                        _("The pool holds only %(pool)s.") % {"pool": format_money(source.balance, collective.currency)}]},
                ) from None
        round.status = RoundStatus.OPEN
        round.opened_at = timezone.now()
        round.save(update_fields=["status", "opened_at"])
        audit_record(collective=collective, actor=actor, action="cobudget.round_opened", target=round,
                     after={"participants": len(envelopes), "total": str(total)})
        round_opened_notify(round=round, envelopes=envelopes, actor=actor)
    return round


def funding_is_open(round: Round, now=None) -> bool:
    now = now or timezone.now()
    if round.status != RoundStatus.OPEN:
        return False
    if round.funding_opens_at and now < round.funding_opens_at:
        return False
    return not (round.funding_closes_at and now >= round.funding_closes_at)


def proposals_are_open(round: Round, now=None) -> bool:
    now = now or timezone.now()
    if round.status == RoundStatus.CLOSED:
        return False
    if round.proposals_open_at and now < round.proposals_open_at:
        return False
    return not (round.proposals_close_at and now >= round.proposals_close_at)


def round_close(*, round: Round, actor=None) -> Round:
    """Close a round and settle it: resumable, and a second run posts nothing more.

    Step 1 marks the round closed (no allocation can start after it). Then each
    bucket, then each wallet, is settled in its own transaction under its row
    lock, its ledger movements named by idempotency keys; a run killed halfway
    is completed by the next one.
    """
    if Round.objects.filter(pk=round.pk, status=RoundStatus.DRAFT).exists():
        raise Conflict(_("A round that never opened cannot be closed."), "round_not_open")
    # Committed before the lock is asked for: allocations starting now are refused, and the close only waits for
    # those already running.
    RoundCloseRequest.objects.get_or_create(round_id=round.pk, defaults={"collective_id": round.collective_id})
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if locked.settled_at:
            return locked
        if locked.status == RoundStatus.OPEN:
            locked.status = RoundStatus.CLOSED
            locked.closed_at = timezone.now()
            locked.save(update_fields=["status", "closed_at"])
            audit_record(collective=locked.collective, actor=actor, action="cobudget.round_closed", target=locked,
                         after={"closed_at": locked.closed_at.isoformat()})
    for bucket_id in Bucket.objects.filter(round=locked).order_by("pk").values_list("pk", flat=True):
        bucket_settle(bucket_id=bucket_id, actor=actor)
    for wallet_id in Wallet.objects.filter(round=locked).order_by("pk").values_list("pk", flat=True):
        wallet_settle(wallet_id=wallet_id, actor=actor)
    with transaction.atomic():
        if Round.objects.filter(pk=locked.pk, settled_at__isnull=True).update(settled_at=timezone.now()):
            round_closed_notify(round=locked, actor=actor)
    locked.refresh_from_db()
    logger.info("cobudget: round %s closed and settled", locked.pk)
    return locked


def _funders(bucket: Bucket) -> list[dict]:
    return list(
        Allocation.objects.filter(bucket=bucket).values("user_id", "wallet_id").annotate(net=Sum("amount"))
        .filter(net__gt=0).order_by("user_id")
    )


def _give_back(*, bucket: Bucket, actor, reason: str, memo: str) -> Decimal:
    """Return every funder's net allocation from the bucket to their wallet (idempotent per funder)."""
    wallets = {w.pk: w for w in Wallet.objects.filter(round_id=bucket.round_id).select_related("account")}
    total = ZERO
    for funder in _funders(bucket):
        wallet = wallets[funder["wallet_id"]]
        txn = transfer(collective=bucket.collective, source=bucket.account, destination=wallet.account,
                       amount=funder["net"], kind="cobudget_refund", memo=memo, actor=actor,
                       idempotency_key=f"cobudget:bucket:{bucket.pk}:{reason}:{funder['user_id']}", linked=bucket)
        Allocation.objects.get_or_create(
            transaction=txn, bucket=bucket,
            defaults={"collective": bucket.collective, "round_id": bucket.round_id, "wallet": wallet,
                      "user_id": funder["user_id"], "kind": AllocationKind.REFUND, "amount": -funder["net"]},
        )
        total += funder["net"]
    return total


def bucket_outcome(*, round: Round, funded: Decimal, min_goal: Decimal) -> str:
    """The fate of an open bucket at the close, by the round's rules."""
    if funded >= min_goal:
        return BucketStatus.FUNDED
    if (funded > 0 and round.partial_policy == PartialPolicy.ACCEPT
            and funded * 100 >= min_goal * round.partial_threshold_percent):
        return BucketStatus.PARTIALLY_FUNDED
    return BucketStatus.UNFUNDED


def bucket_settle(*, bucket_id: int, actor=None) -> Bucket:
    with transaction.atomic():
        bucket = (Bucket.objects.select_for_update(of=("self",)).select_related("round", "collective")
                  .get(pk=bucket_id))
        if bucket.settled_at:
            return bucket
        before = bucket.status
        bucket.status_at_close = before
        if bucket.status == BucketStatus.PROPOSED:
            # Never approved for funding, so it holds no allocation: it ends unfunded, with nothing to refund.
            bucket.status = BucketStatus.UNFUNDED
        elif bucket.status in (BucketStatus.OPEN, BucketStatus.FUNDED):
            bucket.account = Account.objects.get(pk=bucket.account_id)
            outcome = bucket_outcome(round=bucket.round, funded=bucket.account.balance, min_goal=bucket.min_goal)
            if outcome == BucketStatus.UNFUNDED:
                _give_back(bucket=bucket, actor=actor, reason="refund",
                           memo=_("Refund of %(bucket)s at the close") % {"bucket": bucket.title})
            if outcome != BucketStatus.UNFUNDED and before != BucketStatus.FUNDED:
                bucket_funded_notify(bucket=bucket, funded=bucket.account.balance, actor=actor)
            bucket.status = outcome
        bucket.settled_at = timezone.now()
        bucket.save(update_fields=["status", "status_at_close", "settled_at"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_settled", target=bucket,
                     before={"status": before}, after={"status": bucket.status})
    return bucket


def wallet_settle(*, wallet_id: int, actor=None) -> Wallet:
    """What is left in a wallet at the close expires or returns to the pool, by the round's rule."""
    with transaction.atomic():
        wallet = Wallet.objects.select_for_update(of=("self",)).select_related("round", "collective").get(pk=wallet_id)
        if wallet.settled_at:
            return wallet
        wallet.account = Account.objects.get(pk=wallet.account_id)
        left = wallet.account.balance
        if left:
            round = wallet.round
            returning = round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL
            destination = pool_account(wallet.collective) if returning else round_source_account(round)
            transfer(collective=wallet.collective, source=wallet.account, destination=destination, amount=left,
                     kind="cobudget_wallet_return" if returning else "cobudget_wallet_expiry",
                     memo=_("Left in a wallet of %(round)s") % {"round": round.name}, actor=actor,
                     idempotency_key=f"cobudget:wallet:{wallet.pk}:leftover", linked=wallet)
        wallet.settled_at = timezone.now()
        wallet.save(update_fields=["settled_at"])
    return wallet


def rounds_close_due(*, now=None) -> list[int]:
    """Close every open round whose funding window has ended; finish any close left halfway."""
    now = now or timezone.now()
    due = Round.objects.filter(status=RoundStatus.OPEN, funding_closes_at__lte=now).values_list("pk", flat=True)
    unfinished = Round.objects.filter(status=RoundStatus.CLOSED, settled_at__isnull=True).values_list("pk", flat=True)
    closed = []
    for round_id in sorted(set(due) | set(unfinished)):
        try:
            round_close(round=Round.objects.get(pk=round_id))
        except Exception:
            # One round that cannot close must not keep the others open: log it, the next run retries.
            logger.exception("cobudget: round %s could not be closed", round_id)
            continue
        closed.append(round_id)
    return closed


# ---------------------------------------------------------------------------
# buckets

def is_participant(*, round: Round, user) -> bool:
    if round.status != RoundStatus.DRAFT:
        return Wallet.objects.filter(round=round, user=user).exists()
    if round.envelope_policy == EnvelopePolicy.MANUAL:
        return str(user.pk) in round.manual_envelopes
    if round.participants.exists():
        return round.participants.filter(pk=user.pk).exists()
    return Membership.objects.of(round.collective).filter(user=user, roles__contains=[Role.MEMBER.value]).exists()


def _lines(lines, currency: str) -> list[tuple[str, Decimal, Decimal | None]]:
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


def _set_lines(bucket: Bucket, lines) -> None:
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


def _check_carriers(collective: Collective, carriers) -> list[int]:
    ids = sorted({getattr(c, "pk", c) for c in carriers})
    known = set(Membership.objects.of(collective).filter(user_id__in=ids).values_list("user_id", flat=True))
    if known != set(ids):
        raise DomainError(_("Every carrier must be a member of the collective."), "unknown_carrier",
                          fields={"carriers": [_("Unknown member.")]})
    return ids


def _check_image(image) -> None:
    """An allowed image type, under the size cap (the same rules as the page's form)."""
    try:
        for validator in BUCKET_IMAGE_VALIDATORS:
            validator(image)
    except ValidationError as error:
        raise DomainError(error.messages[0], "invalid_image", fields={"image": error.messages}) from None


def bucket_create(*, round: Round, actor, title: str, description: str = "", lines, carriers=(), image=None) -> Bucket:
    cleaned = _lines(lines, round.collective.currency)
    carrier_ids = _check_carriers(round.collective, [actor, *carriers])
    _bucket_texts({"title": title or "", "description": description or ""})
    if not (title or "").strip():
        raise DomainError(_("Give the bucket a title."), "title", fields={"title": [_("This field is required.")]})
    if image:
        _check_image(image)
    with transaction.atomic():
        # Shared round lock, as allocations take it: no bucket appears while the close runs.
        round = _lock_round_shared(round.pk)
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


def _require_carrier_or_coordinator(bucket: Bucket, actor) -> None:
    if bucket.carriers.filter(pk=actor.pk).exists() or _is_coordinator(bucket.collective, actor):
        return
    raise Forbidden(_("Only the bucket's carriers or a coordinator can do this."), "not_carrier")


def bucket_update(*, bucket: Bucket, actor, lines=None, carriers=None, **fields) -> Bucket:
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
        for name in ("title", "description", "image"):
            if name in fields:
                setattr(bucket, name, fields[name])
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


def bucket_propose(*, bucket: Bucket, actor) -> Bucket:
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


def bucket_approve(*, bucket: Bucket, actor) -> Bucket:
    if not _is_coordinator(bucket.collective, actor):
        raise Forbidden(_("Only coordinators approve buckets."), "not_coordinator")
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


def bucket_cancel(*, bucket: Bucket, actor) -> Bucket:
    """Withdraw a bucket: every allocation goes back to its wallet by a return transfer."""
    _require_carrier_or_coordinator(bucket, actor)
    with transaction.atomic():
        round = _lock_round_shared(bucket.round_id)
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("account", "collective").get(pk=bucket.pk)
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed: its buckets have their outcome."), "round_closed")
        if bucket.status not in BUCKET_LIVE:
            raise Conflict(_("This bucket is already %(status)s.") % {"status": bucket.get_status_display()},
                           "bucket_not_live")
        before = bucket.status
        returned = _give_back(bucket=bucket, actor=actor, reason="cancel",
                              memo=_("%(bucket)s was withdrawn") % {"bucket": bucket.title})
        bucket.status = BucketStatus.CANCELLED
        bucket.save(update_fields=["status"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_cancelled", target=bucket,
                     before={"status": before}, after={"status": bucket.status, "returned": str(returned)})
    return bucket


def bucket_merge(*, bucket: Bucket, into: Bucket, actor) -> Bucket:
    """Merge `bucket` into `into`: its lines, carriers and allocations follow; it is then cancelled."""
    if bucket.pk == into.pk:
        raise DomainError(_("A bucket cannot be merged into itself."), "merge_self", fields={"into": [_("Choose another bucket.")]})
    if bucket.round_id != into.round_id or bucket.collective_id != into.collective_id:
        raise DomainError(_("Only buckets of the same round can be merged."), "merge_other_round",
                          fields={"into": [_("Choose a bucket of the same round.")]})
    coordinator = _is_coordinator(bucket.collective, actor)
    if not coordinator and not (bucket.carriers.filter(pk=actor.pk).exists() and into.carriers.filter(pk=actor.pk).exists()):
        raise Forbidden(_("Only someone who carries both buckets, or a coordinator, can merge them."), "not_carrier")
    with transaction.atomic():
        round = _lock_round_shared(bucket.round_id)
        locked = {b.pk: b for b in Bucket.objects.select_for_update(of=("self",)).select_related("account", "collective")
                  .filter(pk__in=[bucket.pk, into.pk]).order_by("pk")}
        source, target = locked[bucket.pk], locked[into.pk]
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed."), "round_closed")
        mergeable = (BucketStatus.PROPOSED, BucketStatus.OPEN)
        if source.status not in mergeable or target.status not in mergeable:
            raise Conflict(_("Only proposed or open buckets can be merged."), "not_mergeable")
        funders = _funders(source)
        if funders and target.status != BucketStatus.OPEN:
            raise Conflict(_("This bucket already has allocations: merge it into a bucket open for funding."),
                           "merge_into_open")
        for line in source.lines.all():
            BudgetLine.objects.create(collective=target.collective, bucket=target, description=line.description,
                                      min_amount=line.min_amount, max_amount=line.max_amount)
        _recompute_goals(target)
        target.carriers.add(*source.carriers.all())
        wallets = {w.pk: w for w in Wallet.objects.filter(round=round).select_related("account")}
        in_target = {row["user_id"]: row["net"] for row in _funders(target)}
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


def bucket_complete(*, bucket: Bucket, actor) -> Bucket:
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


def bucket_comment(*, bucket: Bucket, actor, body: str, kind: str = CommentKind.COMMENT) -> BucketComment:
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


def bucket_flag(*, bucket: Bucket, actor, reason: str) -> BucketFlag:
    reason = checked("reason", (reason or "").strip(), text.multi_line(2000))
    if not reason:
        raise DomainError(_("Say which guideline this bucket goes against."), "empty",
                          fields={"reason": [_("This field is required.")]})
    with transaction.atomic():
        flag, created = BucketFlag.objects.get_or_create(
            bucket=bucket, author=actor, defaults={"collective": bucket.collective, "reason": reason}
        )
        if not created:
            raise Conflict(_("You have already flagged this bucket."), "already_flagged")
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_flagged", target=bucket,
                     after={"reason": reason})
    return flag


# ---------------------------------------------------------------------------
# allocations

@dataclass
class AllocationResult:
    allocation: Allocation
    requested: Decimal
    amount: Decimal
    trimmed: bool
    funded_amount: Decimal
    wallet_balance: Decimal
    currency: str

    @property
    def message(self) -> str:
        if self.trimmed:
            return _("The bucket only needed %(amount)s: your allocation of %(requested)s was trimmed to it.") % {
                "amount": format_money(self.amount, self.currency),
                "requested": format_money(self.requested, self.currency)}
        if self.amount < 0:
            return _("You took back %(amount)s.") % {"amount": format_money(-self.amount, self.currency)}
        return _("You gave %(amount)s.") % {"amount": format_money(self.amount, self.currency)}


def allocation_create(*, bucket: Bucket, actor, amount, round_id: int | None = None) -> AllocationResult:
    """Move money from the actor's wallet into a bucket (or back out of it, with a negative amount).

    Under the round's shared lock and the bucket's row lock, the bucket's
    funding and the member's total to it are read fresh; the ledger's
    conditional update refuses to overdraw the wallet. So concurrent
    allocations can neither overfund the bucket, nor exceed the per-member
    maximum, nor drive a wallet below zero.
    """
    amount = parse_money(amount, "amount", signed=True, maximum=MAX_ALLOCATION)
    if amount == 0:
        raise DomainError(_("Enter an amount other than zero."), "zero_amount", fields={"amount": [_("Must not be zero.")]})
    if round_id is not None and int(round_id) != bucket.round_id:
        raise DomainError(
            _("This bucket belongs to another round."), "wrong_round",
            fields={"round": [_("The bucket is in round %(id)s.") % {"id": bucket.round_id}]},
        )
    with transaction.atomic():
        round = _lock_round_shared(bucket.round_id)
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed: allocations are final."), "round_closed")
        if RoundCloseRequest.objects.filter(round_id=round.pk).exists():
            raise Conflict(_("This round is closing: allocations are no longer accepted."), "round_closing")
        if not funding_is_open(round):
            raise Conflict(_("Funding is not open in this round."), "funding_closed")
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("collective").get(pk=bucket.pk)
        wallet = Wallet.objects.filter(round_id=round.pk, user=actor).select_related("account").first()
        if wallet is None:
            raise Forbidden(_("You have no wallet in this round."), "not_participant")
        bucket.account = Account.objects.get(pk=bucket.account_id)
        funded = bucket.account.balance
        mine = Allocation.objects.filter(bucket=bucket, user=actor).aggregate(total=Sum("amount"))["total"] or ZERO
        requested, trimmed = amount, False
        if amount > 0:
            amount, trimmed = _check_allocation(round, bucket, funded, mine, wallet, amount)
        else:
            _check_retract(round, bucket, mine, amount)
        source, destination = (wallet.account, bucket.account) if amount > 0 else (bucket.account, wallet.account)
        try:
            txn = transfer(collective=bucket.collective, source=source, destination=destination, amount=abs(amount),
                           kind="cobudget_allocation" if amount > 0 else "cobudget_retract", actor=actor,
                           memo=bucket.title, linked=bucket)
        except InsufficientFunds:
            wallet.account.refresh_from_db()
            raise DomainError(
                _("Your wallet holds only %(balance)s.")
                % {"balance": format_money(wallet.account.balance, bucket.collective.currency)}, "insufficient_funds",
                fields={"amount": [_("More than your wallet holds.")]},
            ) from None
        allocation = Allocation.objects.create(
            collective=bucket.collective, round_id=round.pk, bucket=bucket, wallet=wallet, user=actor,
            kind=AllocationKind.ALLOCATE if amount > 0 else AllocationKind.RETRACT, amount=amount, transaction=txn,
        )
        funded += amount
        status = BucketStatus.FUNDED if funded == bucket.max_goal else BucketStatus.OPEN
        if status != bucket.status:
            bucket.status = status
            bucket.save(update_fields=["status"])
            if status == BucketStatus.FUNDED:
                bucket_funded_notify(bucket=bucket, funded=funded + bucket.converted_amount, actor=actor)
        audit_record(collective=bucket.collective, actor=actor, action=f"cobudget.{allocation.kind}", target=bucket,
                     after={"amount": str(amount), "funded": str(funded)})
    wallet.account.refresh_from_db()
    return AllocationResult(allocation=allocation, requested=requested, amount=amount, trimmed=trimmed,
                            funded_amount=funded + bucket.converted_amount, wallet_balance=wallet.account.balance,
                            currency=bucket.collective.currency)


def _check_allocation(round: Round, bucket: Bucket, funded: Decimal, mine: Decimal, wallet: Wallet,
                      amount: Decimal) -> tuple[Decimal, bool]:
    currency = bucket.collective.currency
    if bucket.status == BucketStatus.FUNDED:
        raise Conflict(_("This bucket is already fully funded."), "bucket_full")
    if bucket.status != BucketStatus.OPEN:
        raise Conflict(_("This bucket is not open for funding."), "bucket_not_open")
    trimmed = False
    needed = bucket.max_goal - funded
    if amount > needed:
        if round.overallocation_mode != OverallocationMode.CAP_TO_REMAINING:
            raise DomainError(
                _("This bucket only needs %(needed)s more.") % {"needed": format_money(needed, currency)}, "overfunding",
                fields={"amount": [_("At most %(needed)s.") % {"needed": format_money(needed, currency)}]},
            )
        amount, trimmed = needed, True
    if round.max_per_member_per_bucket is not None and mine + amount > round.max_per_member_per_bucket:
        left = max(round.max_per_member_per_bucket - mine, ZERO)
        raise DomainError(
            _("One member may give at most %(max)s to a bucket; you can still give %(left)s.")
            % {"max": format_money(round.max_per_member_per_bucket, currency), "left": format_money(left, currency)},
            "member_maximum", fields={"amount": [_("At most %(left)s.") % {"left": format_money(left, currency)}]},
        )
    if amount > wallet.account.balance:
        raise DomainError(
            _("Your wallet holds only %(balance)s.") % {"balance": format_money(wallet.account.balance, currency)},
                "insufficient_funds",
            fields={"amount": [_("More than your wallet holds.")]},
        )
    return amount, trimmed


def _check_retract(round: Round, bucket: Bucket, mine: Decimal, amount: Decimal) -> None:
    currency = bucket.collective.currency
    if not round.allow_retract:
        raise Forbidden(_("This round does not allow taking allocations back."), "retract_forbidden")
    if bucket.status not in (BucketStatus.OPEN, BucketStatus.FUNDED):
        raise Conflict(_("This bucket is not open for funding."), "bucket_not_open")
    if -amount > mine:
        raise DomainError(
            _("You gave this bucket %(mine)s: you cannot take back more.") % {"mine": format_money(mine, currency)},
            "retract_too_much",
            fields={"amount": [_("At most %(mine)s.") % {"mine": format_money(mine, currency)}]},
        )


# ---------------------------------------------------------------------------
# closing the loop: a funded bucket becomes an envelope of a contributive budget

def bucket_to_envelope(*, bucket: Bucket, actor, budget=None, new_budget_name: str = ""):
    """Hand what a funded bucket raised to a contributive budget, as one of its envelopes.

    The money goes through the budgets' own funding service (a received
    funding named after the bucket, so owed payouts of that budget settle as
    usual), and the bucket's account pays that funding's source account in the
    same transaction: the ledger shows the money leaving the bucket for the
    budget. Its carriers then declare their work against the new envelope.
    """
    from budgets import services as budget_services
    from budgets.accounts import source_account
    from budgets.fundings import funding_create
    from budgets.models import FundingStatus, PeriodKind, SourceKind

    if not _is_coordinator(bucket.collective, actor):
        raise Forbidden(_("Only coordinators turn a bucket into an envelope."), "not_coordinator")
    if budget is None and not (new_budget_name or "").strip():
        raise DomainError(_("Choose a budget or name a new one."), "no_budget",
                          fields={"budget": [_("Choose a budget or name a new one.")]})
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("round", "collective").get(pk=bucket.pk)
        if bucket.envelope_id:
            raise Conflict(_("This bucket is already an envelope of a budget."), "already_converted")
        if bucket.status not in (BucketStatus.FUNDED, BucketStatus.PARTIALLY_FUNDED, BucketStatus.COMPLETED) \
                or not bucket.settled_at:
            raise Conflict(_("Only a bucket funded at the close can become an envelope."), "not_funded")
        bucket.account = Account.objects.get(pk=bucket.account_id)
        amount = bucket.account.balance
        if budget is None:
            budget = budget_services.budget_create(
                collective=bucket.collective, actor=actor, name=new_budget_name.strip()[:150],
                description=bucket.description, starts_on=timezone.localdate(), period_kind=PeriodKind.NONE,
            )
        elif budget.collective_id != bucket.collective_id:
            raise DomainError(_("Choose a budget of this collective."), "invalid", fields={"budget": [_("Unknown budget.")]})
        # A funding's source holds 150 characters: the round's name and the bucket's title are cut to fit.
        source = _("Cobudget %(round)s: %(bucket)s (#%(id)s)") % {
            "round": bucket.round.name[:60], "bucket": bucket.title[:60], "id": bucket.pk}
        funding_create(budget=budget, actor=actor, source=source, amount=amount, source_kind=SourceKind.OTHER,
                       status=FundingStatus.RECEIVED)
        transfer(collective=bucket.collective, source=bucket.account,
                 destination=source_account(budget=budget, source=source), amount=amount,
                 kind="cobudget_to_envelope", memo=source, actor=actor,
                 idempotency_key=f"cobudget:bucket:{bucket.pk}:envelope", linked=bucket)
        envelope = budget_services.envelope_create(budget=budget, actor=actor, name=bucket.title[:150],
                                                   amount=amount, description=bucket.description)
        bucket.envelope = envelope
        bucket.converted_amount = amount
        bucket.save(update_fields=["envelope", "converted_amount"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_to_envelope", target=bucket,
                     after={"budget": budget.pk, "envelope": envelope.pk, "amount": str(amount)})
    return envelope
