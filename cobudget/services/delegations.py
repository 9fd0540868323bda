"""Delegation of a wallet in a live round: a participant lets another give from their wallet until they take it
back.

The money never moves on delegation: the delegate gives from the delegator's own wallet (the allocation's `user`
is the owner, its `made_by` the delegate), under the same locks as any allocation from that wallet, so the two
giving at once can never overspend it. Taking the delegation back ends the delegate's right at once; nothing
given is undone, and what is left in the wallet is simply the delegator's to give again.

No chains: whoever holds an active delegation cannot delegate, and nobody delegates to someone who did. Creating
one locks both wallets' rows (in id order) after the round's shared lock, so A→B and B→C racing meet on B's row
and cannot both pass the check. Taking one back locks the delegation row, which an allocation on its behalf
holds FOR SHARE: the two wait for each other.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contrib_budget.errors import Conflict, DomainError, Forbidden
from members.audit import audit_record, audit_vocabulary
from members.models import User

from ..models import Delegation, Round, RoundCloseRequest, RoundMode, RoundStatus, Wallet
from ..notifications import wallet_delegated_notify
from ._common import lock_round_shared

audit_vocabulary("cobudget.wallet_delegated", labels={
    "delegate": gettext_lazy("delegate"), "delegator": gettext_lazy("delegator"),
}, references={"delegate": "members.user", "delegator": "members.user"})
# What an allocation on someone's behalf records beside the amount: whose wallet gave.
for _action in ("cobudget.allocate", "cobudget.retract"):
    audit_vocabulary(_action, labels={"on_behalf_of": gettext_lazy("on behalf of")},
                     references={"on_behalf_of": "members.user"})
audit_vocabulary("cobudget.wallet_delegation_revoked", labels={
    "delegate": gettext_lazy("delegate"), "delegator": gettext_lazy("delegator"),
}, references={"delegate": "members.user", "delegator": "members.user"})


def _check_live_and_open(round: Round) -> None:
    if round.mode == RoundMode.EQUAL_SHARES:
        raise Conflict(_("In an Equal Shares round nobody gives money: there is no wallet to delegate."),
                       "equal_shares_round")
    if round.status != RoundStatus.OPEN:
        raise Conflict(_("A wallet can be delegated only while the round is open."), "round_not_open")
    if RoundCloseRequest.objects.of(round.collective_id).filter(round_id=round.pk).exists():
        raise Conflict(_("This round is closing: wallets can no longer be delegated."), "round_closing")


def wallet_delegate(*, round: Round, actor: User, delegate: User | int) -> Delegation:
    """Let `delegate` give from `actor`'s wallet in `round` until `actor` takes it back."""
    collective = round.collective
    delegate_id = delegate if isinstance(delegate, int) else delegate.pk
    if delegate_id == actor.pk:
        raise DomainError(_("You cannot delegate your wallet to yourself."), "delegation_to_self",
                          fields={"delegate": [_("Choose another participant.")]})
    _check_live_and_open(round)
    with transaction.atomic():
        round = lock_round_shared(round.pk)
        round.collective = collective
        _check_live_and_open(round)  # again, now that the close waits for us
        wallets = {wallet.user_id: wallet for wallet in Wallet.objects.of(collective).select_for_update()
                   .filter(round_id=round.pk, user_id__in=[actor.pk, delegate_id]).order_by("pk")}
        if actor.pk not in wallets:
            raise Forbidden(_("You have no wallet in this round."), "not_participant")
        if delegate_id not in wallets:
            raise DomainError(_("Only a participant of the round can receive a wallet."), "not_participant",
                              fields={"delegate": [_("Not a participant of this round.")]})
        active = Delegation.objects.of(collective).filter(round_id=round.pk, revoked_at__isnull=True)
        delegators = set(active.filter(delegator_id__in=[actor.pk, delegate_id])
                         .values_list("delegator_id", flat=True))
        if actor.pk in delegators:
            raise Conflict(_("You have already delegated your wallet in this round: take it back first."),
                           "already_delegated")
        if active.filter(delegate_id=actor.pk).exists():
            raise Conflict(_("Someone delegated their wallet to you: a delegated wallet cannot be passed on, so you "
                             "cannot delegate yours."), "delegation_chain")
        if delegate_id in delegators:
            raise DomainError(_("This person has delegated their own wallet: choose someone else."),
                              "delegation_chain", fields={"delegate": [_("Has delegated their own wallet.")]})
        try:
            with transaction.atomic():
                delegation = Delegation.objects.create(collective=collective, round=round, delegator=actor,
                                                       delegate_id=delegate_id)
        except IntegrityError:  # a delegation of the same wallet committed first (the locks make this rare)
            raise Conflict(_("You have already delegated your wallet in this round: take it back first."),
                           "already_delegated") from None
        audit_record_delegation(delegation, actor, "cobudget.wallet_delegated")
        wallet_delegated_notify(round=round, delegate_id=delegate_id, actor=actor)
    return delegation


def wallet_delegation_revoke(*, round: Round, actor: User) -> Delegation:
    """Take back `actor`'s wallet in `round`: the delegate may no longer give from it (what they gave stays)."""
    collective = round.collective
    with transaction.atomic():
        # Waits for an allocation on the wallet's behalf that is running (it holds the row FOR SHARE).
        delegation = (Delegation.objects.of(collective).select_for_update()
                      .filter(round_id=round.pk, delegator=actor, revoked_at__isnull=True).first())
        if delegation is None:
            if not Wallet.objects.of(collective).filter(round_id=round.pk, user=actor).exists():
                raise Forbidden(_("You have no wallet in this round."), "not_participant")
            raise Conflict(_("You have not delegated your wallet in this round."), "not_delegated")
        delegation.revoked_at = timezone.now()
        delegation.save(update_fields=["revoked_at"])
        audit_record_delegation(delegation, actor, "cobudget.wallet_delegation_revoked")
    return delegation


def audit_record_delegation(delegation: Delegation, actor: User, action: str) -> None:
    audit_record(collective=delegation.collective, actor=actor, action=action, target=delegation.round,
                 after={"delegator": delegation.delegator_id, "delegate": delegation.delegate_id})
