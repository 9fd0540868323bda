"""Cobudget rounds: envelopes in wallets, buckets to fund, allocations, and the close.

Money never lives here: wallets and buckets each own a ledger account, and
their balances are the ledger's. What this package keeps is the rules of a
round, the buckets' descriptions and the append-only trail of allocations,
each tied to the ledger transaction that moved its money. Import from here.
"""

from ..choices import (
    EnvelopePolicy,
    LeftoverPolicy,
    MesCompletion,
    OverallocationMode,
    PartialPolicy,
    RoundMode,
    RoundSchedule,
    RoundStatus,
    TieRule,
)
from .bucket import (
    BUCKET_IMAGE_EXTENSIONS,
    BUCKET_IMAGE_MAX_BYTES,
    BUCKET_IMAGE_VALIDATORS,
    Bucket,
    BucketComment,
    BucketFlag,
    BucketStatus,
    BucketSupport,
    BudgetLine,
    CommentKind,
    bucket_image_path,
    validate_bucket_image_size,
)
from .round import Round, RoundCloseRequest, RoundTemplate
from .wallet import Allocation, AllocationKind, Delegation, MemberBucketTotal, Wallet

__all__ = [
    "BUCKET_IMAGE_EXTENSIONS", "BUCKET_IMAGE_MAX_BYTES", "BUCKET_IMAGE_VALIDATORS", "Allocation", "AllocationKind",
    "Bucket", "BucketComment", "BucketFlag", "BucketStatus", "BucketSupport", "BudgetLine", "CommentKind",
    "Delegation", "EnvelopePolicy", "LeftoverPolicy", "MemberBucketTotal", "MesCompletion", "OverallocationMode",
    "PartialPolicy", "Round", "RoundCloseRequest", "RoundMode", "RoundSchedule", "RoundStatus", "RoundTemplate",
    "TieRule", "Wallet", "bucket_image_path", "validate_bucket_image_size",
]
