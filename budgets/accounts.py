"""The ledger accounts of budgets and of the people they pay.

- `source:<slug>` (funding source, may go negative) credits the budget;
- `budget:<id>:received` holds received money not granted yet;
- `budget:<id>:pledged` holds pledged money neither received nor granted yet;
- `owed:<user_id>` holds what was granted to a person on pledged money;
- `payable:<user_id>` holds what was granted on received money and is not paid yet;
- `paid:<user_id>` counts what was paid out to the person.
"""

from collections.abc import Iterable

from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Collective, User

from .ledger import account_get_or_create, accounts_get_or_create
from .models import Account, AccountKind, Budget


def source_account(*, budget: Budget, source: str) -> Account:
    slug = slugify(source)[:60] or "source"
    return account_get_or_create(collective=budget.collective, kind=AccountKind.FUNDING_SOURCE,
                                 code=f"source:{slug}", name=source)


def budget_received_account(budget: Budget) -> Account:
    return account_get_or_create(collective=budget.collective, kind=AccountKind.BUDGET,
                                 code=f"budget:{budget.pk}:received",
                                 name=_("%(budget)s — received") % {"budget": budget.name})


def budget_pledged_account(budget: Budget) -> Account:
    return account_get_or_create(collective=budget.collective, kind=AccountKind.BUDGET,
                                 code=f"budget:{budget.pk}:pledged",
                                 name=_("%(budget)s — pledged") % {"budget": budget.name})


PERSON_ACCOUNT_NAMES = {"owed": gettext_lazy("Owed to %(person)s"), "payable": gettext_lazy("Payable to %(person)s"),
                        "paid": gettext_lazy("Paid to %(person)s")}


def person_account(*, collective: Collective, user: User, state: str) -> Account:
    """`state` is "owed", "payable" or "paid"."""
    return person_accounts(collective=collective, users=[user], state=state)[user.pk]


def person_accounts(*, collective: Collective, users: Iterable[User], state: str) -> dict[int, Account]:
    """Each person's account in `state`, by person id, in a query or three whatever their number."""
    kind = AccountKind.PAID if state == "paid" else AccountKind.PAYABLE
    people = {user.pk: user for user in users}
    found = accounts_get_or_create(collective=collective, specs=[
        (kind, f"{state}:{pk}", str(PERSON_ACCOUNT_NAMES[state] % {"person": user.display_name}))
        for pk, user in people.items()
    ])
    return {pk: found[f"{state}:{pk}"] for pk in people}
