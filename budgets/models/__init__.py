from .ledger import Account, AccountKind, Entry, LedgerTransaction

__all__ = ["Account", "AccountKind", "Entry", "LedgerTransaction"]
