"""The chart of accounts: each kind of ledger account is booked to one account number.

Sign convention of every accounting export: a ledger entry's amount is what
flows *into* its account, so a positive amount is a **debit** of that account
and a negative one a **credit**. Since every transaction's entries sum to zero,
its debits equal its credits, and so do the totals of any set of transactions.

Under this convention the accounts that hold money (budgets, envelopes,
wallets, buckets, amounts set aside for a person) carry debit balances, the
funding sources (the outside world the money comes from) carry credit
balances, like revenue, and "paid out" accumulates, as a charge, what left for
the people paid. The defaults below follow the French Plan comptable général;
each collective's accountant can change them.
"""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from budgets.models import AccountKind

from .models import AccountMapping

DEFAULT_CHART: dict[str, tuple[str, object]] = {
    AccountKind.FUNDING_SOURCE: ("740000", _("Operating grants and funding")),
    AccountKind.BUDGET: ("471000", _("Contributive budgets")),
    AccountKind.ENVELOPE: ("471100", _("Budget envelopes and missions")),
    AccountKind.POOL: ("471200", _("Collective pool")),
    AccountKind.ROUND: ("471300", _("Cobudget rounds")),
    AccountKind.WALLET: ("471400", _("Members' cobudget envelopes")),
    AccountKind.BUCKET: ("471500", _("Cobudget projects")),
    AccountKind.PAYABLE: ("467000", _("Payouts due to contributors")),
    AccountKind.PAID: ("622800", _("Payouts paid to contributors")),
}


def chart_of(collective) -> dict[str, tuple[str, str]]:
    """Every ledger account kind → (number, label): the collective's choices over the defaults."""
    with translation.override(collective.locale):
        chart = {kind: (number, str(label)) for kind, (number, label) in DEFAULT_CHART.items()}
    for mapping in AccountMapping.objects.of(collective):
        chart[mapping.account_kind] = (mapping.number, mapping.label)
    return chart
