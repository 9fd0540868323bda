from .budget import (
    Budget,
    Envelope,
    Funding,
    FundingStatus,
    LeftoverPolicy,
    OverspendPolicy,
    Period,
    PeriodKind,
    PeriodStatus,
    RateLevel,
    SourceKind,
    Task,
    TaskPriority,
)
from .ledger import MONEY, Account, AccountKind, Entry, LedgerTransaction
from .payout import NET_AMOUNT, PAYABLE, BatchMethod, BatchStatus, Payout, PayoutBatch, PayoutCorrection, PayoutState

__all__ = [
    "MONEY", "NET_AMOUNT", "PAYABLE", "Account", "AccountKind", "BatchMethod", "BatchStatus", "Budget", "Entry",
    "Envelope", "Funding", "FundingStatus", "LedgerTransaction", "LeftoverPolicy", "OverspendPolicy", "Payout",
    "PayoutBatch", "PayoutCorrection", "PayoutState", "Period", "PeriodKind", "PeriodStatus", "RateLevel", "SourceKind",
    "Task", "TaskPriority",
]
