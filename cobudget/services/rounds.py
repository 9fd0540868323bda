"""Rounds: their set-up, participants and envelopes, opening them, and whether proposals or funding are open."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.ledger import ACCOUNTS_ALLOWED_NEGATIVE, InsufficientFunds, account_get_or_create, transaction_post
from budgets.models import Account, AccountKind
from contrib_budget.errors import Conflict, DomainError, validated_or_raise
from contrib_budget.keywords import UNSET, Unset, given
from contrib_budget.money import (
    MAX_ALLOCATION,
    MAX_ENVELOPE,
    MAX_FUNDING,
    ZERO,
    MoneyInput,
    format_money,
    parse_money,
    to_money,
)
from members.audit import audit_record
from members.models import Collective, Membership, Role, User

from .. import selectors
from ..envelopes import weighted_envelopes
from ..models import EnvelopePolicy, PartialPolicy, Round, RoundMode, RoundStatus, Wallet
from ..notifications import round_opened_notify
from ..permissions import MANAGE_ROUNDS
from ._common import People, person_ids

ROUND_FIELDS = (
    "name", "description", "guidelines", "proposals_open_at", "proposals_close_at", "funding_opens_at",
    "funding_closes_at", "envelope_policy", "envelope_amount", "manual_envelopes", "weight_from", "weight_to",
    "envelope_floor", "envelope_cap", "max_per_member_per_bucket", "allow_retract",
    "hide_allocations_until_close", "bucket_approval_required", "min_carriers", "partial_policy",
    "partial_threshold_percent", "leftover_policy", "overallocation_mode", "funded_from_pool", "mode",
    "total_amount", "allow_scores", "mes_completion", "tie_rule", "redistribution_hours", "redistribute_unspent",
)
# The round's amounts, each bounded as its kind is.
ROUND_AMOUNTS = {"envelope_amount": MAX_ENVELOPE, "envelope_floor": MAX_ENVELOPE, "envelope_cap": MAX_ENVELOPE,
                 "max_per_member_per_bucket": MAX_ALLOCATION, "total_amount": MAX_FUNDING}
# What may still change once the round is open: words and the calendar, never the money rules.
ROUND_FIELDS_WHILE_OPEN = (
    "name", "description", "guidelines", "proposals_open_at", "proposals_close_at", "funding_closes_at",
)


def _validated(instance: Round, exclude: tuple[str, ...] = ()) -> None:
    validated_or_raise(instance, exclude, validate_unique=False)


def _round_state(round: Round) -> dict[str, Any]:
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
    floor, cap = round.envelope_floor, round.envelope_cap
    if floor is not None and cap is not None and floor > cap:
        raise DomainError(_("The minimum envelope is above the maximum."), "floor_above_cap",
                          fields={"envelope_floor": [_("Must not exceed the maximum envelope.")]})
    windows = [("proposals_open_at", "proposals_close_at"), ("funding_opens_at", "funding_closes_at")]
    for start, end in windows:
        if getattr(round, start) and getattr(round, end) and getattr(round, start) >= getattr(round, end):
            raise DomainError(_("A window must close after it opens."), "window_order",
                              fields={end: [_("Must be after the opening.")]})
    if round.partial_policy == PartialPolicy.REDISTRIBUTE and round.mode == RoundMode.EQUAL_SHARES:
        raise DomainError(_("An Equal Shares round has no wallets to give from again: it cannot redistribute."),
                          "redistribute_equal_shares", fields={"partial_policy": [_("Not with Equal Shares.")]})
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
        known = set(Membership.objects.of(round.collective_id).filter(user_id__in=[int(k) for k in cleaned])
                    .values_list("user_id", flat=True))
        if len(known) != len(cleaned):
            raise DomainError(_("Every envelope must go to a member of the collective."), "manual_envelopes",
                              fields={"manual_envelopes": [_("Unknown member.")]})
    round.manual_envelopes = cleaned


def round_create(
    *, collective: Collective, actor: User, participants: People | None = None,
    name: str | Unset = UNSET, description: str | Unset = UNSET, guidelines: str | Unset = UNSET,
    proposals_open_at: datetime | None | Unset = UNSET, proposals_close_at: datetime | None | Unset = UNSET,
    funding_opens_at: datetime | None | Unset = UNSET, funding_closes_at: datetime | None | Unset = UNSET,
    envelope_policy: str | Unset = UNSET, envelope_amount: MoneyInput | None | Unset = UNSET,
    manual_envelopes: dict[str, MoneyInput] | Unset = UNSET,
    weight_from: date | None | Unset = UNSET, weight_to: date | None | Unset = UNSET,
    envelope_floor: MoneyInput | None | Unset = UNSET, envelope_cap: MoneyInput | None | Unset = UNSET,
    max_per_member_per_bucket: MoneyInput | None | Unset = UNSET, allow_retract: bool | Unset = UNSET,
    hide_allocations_until_close: bool | Unset = UNSET, bucket_approval_required: bool | Unset = UNSET,
    min_carriers: int | Unset = UNSET, partial_policy: str | Unset = UNSET,
    partial_threshold_percent: int | Unset = UNSET, leftover_policy: str | Unset = UNSET,
    overallocation_mode: str | Unset = UNSET, funded_from_pool: bool | Unset = UNSET, mode: str | Unset = UNSET,
    total_amount: MoneyInput | None | Unset = UNSET, allow_scores: bool | Unset = UNSET,
    mes_completion: str | Unset = UNSET, tie_rule: str | Unset = UNSET, redistribution_hours: int | Unset = UNSET,
    redistribute_unspent: bool | Unset = UNSET,
) -> Round:
    """A draft round; a rule left out takes the model's default."""
    MANAGE_ROUNDS.require(collective=collective, actor=actor)
    fields = given(
        name=name, description=description, guidelines=guidelines, proposals_open_at=proposals_open_at,
        proposals_close_at=proposals_close_at, funding_opens_at=funding_opens_at,
        funding_closes_at=funding_closes_at, envelope_policy=envelope_policy, envelope_amount=envelope_amount,
        manual_envelopes=manual_envelopes, weight_from=weight_from, weight_to=weight_to,
        envelope_floor=envelope_floor, envelope_cap=envelope_cap, max_per_member_per_bucket=max_per_member_per_bucket,
        allow_retract=allow_retract, hide_allocations_until_close=hide_allocations_until_close,
        bucket_approval_required=bucket_approval_required, min_carriers=min_carriers, partial_policy=partial_policy,
        partial_threshold_percent=partial_threshold_percent, leftover_policy=leftover_policy,
        overallocation_mode=overallocation_mode, funded_from_pool=funded_from_pool, mode=mode,
        total_amount=total_amount, allow_scores=allow_scores, mes_completion=mes_completion, tie_rule=tie_rule,
        redistribution_hours=redistribution_hours, redistribute_unspent=redistribute_unspent,
    )
    round = Round(collective=collective, created_by=actor, **fields)
    _check_round_rules(round)
    _validated(round, exclude=("collective", "created_by"))
    with transaction.atomic():
        round.save()
        if participants:
            round_set_participants(round=round, users=participants)
        audit_record(collective=collective, actor=actor, action="cobudget.round_created", target=round,
                     after=_round_state(round))
    return round


def round_set_participants(*, round: Round, users: People) -> None:
    ids = person_ids(users)
    members = set(Membership.objects.of(round.collective_id).filter(user_id__in=ids).values_list("user_id", flat=True))
    if members != ids:
        raise DomainError(_("Every participant must be a member of the collective."), "unknown_participant",
                          fields={"participants": [_("Unknown member.")]})
    round.participants.set(sorted(ids))


def round_update(
    *, round: Round, actor: User, participants: People | None = None,
    name: str | Unset = UNSET, description: str | Unset = UNSET, guidelines: str | Unset = UNSET,
    proposals_open_at: datetime | None | Unset = UNSET, proposals_close_at: datetime | None | Unset = UNSET,
    funding_opens_at: datetime | None | Unset = UNSET, funding_closes_at: datetime | None | Unset = UNSET,
    envelope_policy: str | Unset = UNSET, envelope_amount: MoneyInput | None | Unset = UNSET,
    manual_envelopes: dict[str, MoneyInput] | Unset = UNSET,
    weight_from: date | None | Unset = UNSET, weight_to: date | None | Unset = UNSET,
    envelope_floor: MoneyInput | None | Unset = UNSET, envelope_cap: MoneyInput | None | Unset = UNSET,
    max_per_member_per_bucket: MoneyInput | None | Unset = UNSET, allow_retract: bool | Unset = UNSET,
    hide_allocations_until_close: bool | Unset = UNSET, bucket_approval_required: bool | Unset = UNSET,
    min_carriers: int | Unset = UNSET, partial_policy: str | Unset = UNSET,
    partial_threshold_percent: int | Unset = UNSET, leftover_policy: str | Unset = UNSET,
    overallocation_mode: str | Unset = UNSET, funded_from_pool: bool | Unset = UNSET, mode: str | Unset = UNSET,
    total_amount: MoneyInput | None | Unset = UNSET, allow_scores: bool | Unset = UNSET,
    mes_completion: str | Unset = UNSET, tie_rule: str | Unset = UNSET, redistribution_hours: int | Unset = UNSET,
    redistribute_unspent: bool | Unset = UNSET,
) -> Round:
    """Change what was passed; once the round is open, a change to its money rules is refused."""
    MANAGE_ROUNDS.require(collective=round.collective, actor=actor)
    fields = given(
        name=name, description=description, guidelines=guidelines, proposals_open_at=proposals_open_at,
        proposals_close_at=proposals_close_at, funding_opens_at=funding_opens_at,
        funding_closes_at=funding_closes_at, envelope_policy=envelope_policy, envelope_amount=envelope_amount,
        manual_envelopes=manual_envelopes, weight_from=weight_from, weight_to=weight_to,
        envelope_floor=envelope_floor, envelope_cap=envelope_cap, max_per_member_per_bucket=max_per_member_per_bucket,
        allow_retract=allow_retract, hide_allocations_until_close=hide_allocations_until_close,
        bucket_approval_required=bucket_approval_required, min_carriers=min_carriers, partial_policy=partial_policy,
        partial_threshold_percent=partial_threshold_percent, leftover_policy=leftover_policy,
        overallocation_mode=overallocation_mode, funded_from_pool=funded_from_pool, mode=mode,
        total_amount=total_amount, allow_scores=allow_scores, mes_completion=mes_completion, tie_rule=tie_rule,
        redistribution_hours=redistribution_hours, redistribute_unspent=redistribute_unspent,
    )
    with transaction.atomic():
        round = Round.objects.select_for_update().get(pk=round.pk)
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("A closed round cannot change."), "round_closed")
        refused = _locked_changes(round, fields, participants)
        if refused:
            raise Conflict(
                _("The round is open: %(fields)s can no longer change. Nothing was saved.")
                % {"fields": ", ".join(f"“{_round_field_label(field)}”" for field in refused)}, "round_open",
                fields={field: [_("Locked since the round opened: the wallets were credited under these rules.")]
                        for field in refused})
        before = _round_state(round)
        for field, value in fields.items():
            setattr(round, field, value)
        _check_round_rules(round)
        _validated(round, exclude=("collective", "created_by"))
        round.save()
        if participants is not None:
            round_set_participants(round=round, users=participants)
        audit_record(collective=round.collective, actor=actor, action="cobudget.round_updated", target=round,
                     before=before, after=_round_state(round))
    return round


def _locked_changes(round: Round, fields: dict[str, Any], participants: People | None) -> list[str]:
    """The fields a request would change although the round's state locks them.

    A locked field sent with its current value is no change: a client may send back the whole round it read
    (and the set-up page does), only a real change is refused, never silently dropped.
    """
    allowed = ROUND_FIELDS if round.status == RoundStatus.DRAFT else ROUND_FIELDS_WHILE_OPEN
    refused = [name for name, value in fields.items()
               if name not in allowed and (name not in ROUND_FIELDS or not _same_value(round, name, value))]
    if participants is not None and round.status != RoundStatus.DRAFT:
        if person_ids(participants) != set(round.participants.values_list("pk", flat=True)):
            refused.append("participants")
    return refused


def _same_value(round: Round, name: str, value: Any) -> bool:
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
        # The names are the round's own fields (or its participants), never a relation pointing at it, which has no
        # verbose name.
        return str(Round._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
    except FieldDoesNotExist:
        return name


def round_envelopes(*, round: Round) -> dict[int, Decimal]:
    """Each participant's envelope by the round's policy (user id → amount). An Equal Shares round gives none:
    its participants support buckets, and the close shares the round's total among them."""
    if round.mode == RoundMode.EQUAL_SHARES:
        if not round.total_amount:
            raise DomainError(_("Set the total to share."), "total_amount", fields={"total_amount": [_("Required.")]})
        return dict.fromkeys(_participant_ids(round), ZERO)
    if round.envelope_policy == EnvelopePolicy.MANUAL:
        envelopes = {int(k): Decimal(v) for k, v in round.manual_envelopes.items()}
        if not envelopes:
            raise DomainError(_("Set at least one member's envelope."), "no_participants",
                              fields={"manual_envelopes": [_("Required for manual envelopes.")]})
        return envelopes
    participants = _participant_ids(round)
    if not round.envelope_amount:
        raise DomainError(_("Set the envelope amount."), "envelope_amount",
                          fields={"envelope_amount": [_("Required.")]})
    if round.envelope_policy == EnvelopePolicy.EQUAL:
        return {user_id: round.envelope_amount for user_id in participants}
    # A weighted round has both dates: _check_round_rules refuses to save it without them.
    granted = selectors.granted_by_member(round.collective, round.weight_from, round.weight_to)  # type: ignore[arg-type]
    return weighted_envelopes(
        total=round.envelope_amount, weights={p: granted.get(p, ZERO) for p in participants},
        floor=round.envelope_floor, cap=round.envelope_cap, rotation=round.pk,
    )


def _participant_ids(round: Round) -> list[int]:
    participants = sorted(round.participants.values_list("pk", flat=True)) or selectors.default_participant_ids(
        round.collective)
    if not participants:
        raise DomainError(_("This round has no participants."), "no_participants")
    return participants


def round_total_account(round: Round) -> Account:
    """What an Equal Shares round shares: drawn from its source when it opens, paid to buckets when it closes."""
    return account_get_or_create(collective=round.collective, kind=AccountKind.ROUND,
                                 code=f"cobudget:round:{round.pk}:total", name=round.name)


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


def round_open(*, round: Round, actor: User) -> Round:
    """Open the round: every participant's wallet is credited, in one ledger transaction."""
    MANAGE_ROUNDS.require(collective=round.collective, actor=actor)
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
        if round.mode == RoundMode.EQUAL_SHARES:
            legs = [(round_total_account(round), round.total_amount or ZERO)]
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
                        _("The pool holds only %(pool)s.")
                        % {"pool": format_money(source.balance, collective.currency)}]},
                ) from None
        round.status = RoundStatus.OPEN
        round.opened_at = timezone.now()
        round.save(update_fields=["status", "opened_at"])
        audit_record(collective=collective, actor=actor, action="cobudget.round_opened", target=round,
                     after={"participants": len(envelopes), "total": str(total)})
        round_opened_notify(round=round, envelopes=envelopes, actor=actor)
    return round


def funding_is_open(round: Round, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if round.status != RoundStatus.OPEN:
        return False
    if round.redistribution_started_at:  # shut from a first close until the second window opens, then open in it
        return bool(round.redistribution_closes_at and now < round.redistribution_closes_at)
    if round.funding_opens_at and now < round.funding_opens_at:
        return False
    return not (round.funding_closes_at and now >= round.funding_closes_at)


def proposals_are_open(round: Round, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if round.status == RoundStatus.CLOSED:
        return False
    if round.proposals_open_at and now < round.proposals_open_at:
        return False
    return not (round.proposals_close_at and now >= round.proposals_close_at)


def is_participant(*, round: Round, user: User) -> bool:
    if round.status != RoundStatus.DRAFT:
        return Wallet.objects.filter(round=round, user=user).exists()
    if round.envelope_policy == EnvelopePolicy.MANUAL:
        return str(user.pk) in round.manual_envelopes
    if round.participants.exists():
        return round.participants.filter(pk=user.pk).exists()
    return Membership.objects.of(round.collective_id).filter(user=user, roles__contains=[Role.MEMBER.value]).exists()
