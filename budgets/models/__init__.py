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
from .payout import Payout, PayoutState

__all__ = [
    "MONEY", "Account", "AccountKind", "Budget", "Entry", "Envelope", "Funding", "FundingStatus",
    "LedgerTransaction", "LeftoverPolicy", "OverspendPolicy", "Payout", "PayoutState", "Period", "PeriodKind",
    "PeriodStatus", "RateLevel", "SourceKind", "Task", "TaskPriority",
]
