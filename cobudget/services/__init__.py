"""Every write of the cobudget: rounds, wallets, buckets, allocations and the close.

One module per capability: `rounds` (set-up, envelopes, opening), `buckets` (their life cycle),
`allocations`, `delegations` (a participant lets another give from their wallet), `supports` (Equal Shares rounds),
`redistribution` (money given back to funders; the first close of a round that redistributes), `closing` (the
close and its settlement), `flags` (against the guidelines) and `handover` (a funded bucket becomes
a budget's envelope). Callers import from here: `from cobudget import services; services.round_create(...)`.
Inside, imports run one way: `_common` <- `rounds` <- `supports` <- `redistribution` <- `closing` <- `buckets`
(`closing.round_close` runs the first close when it is due); `allocations`,
`delegations`, `flags`, `handover` and `recurring` (templates, the rounds made from them, carried-over buckets)
use `_common` (and `rounds`) only.

Lock order, everywhere: the round row (FOR SHARE by allocations and bucket
changes, FOR UPDATE by opening and closing), then bucket rows (FOR UPDATE, by
id), then ledger accounts (conditional UPDATEs by id, in budgets.ledger). So
an allocation never races the close, two allocations to one bucket run one
after the other, and two allocations from one wallet can never overdraw it.
"""

# Conflict, selectors and Wallet were reachable on the single module this package replaced; tests use them so.
from contrib_budget.errors import Conflict

from .. import selectors
from ..models import Wallet
from .allocations import AllocationResult, allocation_create
from .buckets import (
    BUCKET_LIVE,
    bucket_approve,
    bucket_cancel,
    bucket_comment,
    bucket_complete,
    bucket_create,
    bucket_merge,
    bucket_propose,
    bucket_update,
    merge_moved_by_target,
    merge_split,
)
from .closing import (
    bucket_outcome,
    bucket_outcome_in_sql,
    buckets_settle,
    round_close,
    rounds_close_due,
    wallets_settle,
)
from .delegations import wallet_delegate, wallet_delegation_revoke
from .flags import bucket_flag, bucket_flag_resolve
from .handover import bucket_to_envelope
from .recurring import (
    bucket_carry_over,
    recurring_rounds_run,
    round_from_template,
    round_template_delete,
    round_template_save,
    round_template_update,
)
from .redistribution import redistribution_first_close, redistribution_given_back
from .rounds import (
    ROUND_AMOUNTS,
    ROUND_FIELDS,
    ROUND_FIELDS_WHILE_OPEN,
    funding_is_open,
    is_participant,
    pool_account,
    proposals_are_open,
    round_create,
    round_envelopes,
    round_open,
    round_set_participants,
    round_source_account,
    round_update,
)
from .supports import bucket_support, bucket_support_withdraw, equal_shares_fund

__all__ = [
    # rounds
    "ROUND_AMOUNTS",
    "ROUND_FIELDS",
    "ROUND_FIELDS_WHILE_OPEN",
    "funding_is_open",
    "is_participant",
    "pool_account",
    "proposals_are_open",
    "round_create",
    "round_envelopes",
    "round_open",
    "round_set_participants",
    "round_source_account",
    "round_update",
    # buckets
    "BUCKET_LIVE",
    "bucket_approve",
    "bucket_cancel",
    "bucket_comment",
    "bucket_complete",
    "bucket_create",
    "bucket_flag",
    "bucket_flag_resolve",
    "bucket_support",
    "bucket_support_withdraw",
    "equal_shares_fund",
    "bucket_merge",
    "bucket_propose",
    "bucket_update",
    "merge_moved_by_target",
    "merge_split",
    # allocations
    "AllocationResult",
    "allocation_create",
    # delegations
    "wallet_delegate",
    "wallet_delegation_revoke",
    # closing
    "bucket_outcome",
    "bucket_outcome_in_sql",
    "buckets_settle",
    "round_close",
    "rounds_close_due",
    "wallets_settle",
    "redistribution_first_close",
    "redistribution_given_back",
    # handover
    "bucket_to_envelope",
    # recurring rounds
    "bucket_carry_over",
    "recurring_rounds_run",
    "round_from_template",
    "round_template_delete",
    "round_template_save",
    "round_template_update",
    # reachable on the single module this package replaced
    "Conflict",
    "Wallet",
    "selectors",
]
