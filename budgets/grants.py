"""From requests to grants, and grants into the ledger.

What each request on a period is granted is computed by a pure rule (`grants_compute`); the payouts that
record the grants are then posted to the ledger one at a time under the budget lock, each payout pointing at
the transaction that posted it, so posting again (another worker, a resumed closing) posts only what is
missing. The claims themselves (declarations) and the closing that freezes them belong to the app above.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from contrib_budget.money import ZERO, split_largest_remainder, to_money
from members.audit import audit_record
from members.models import User

from . import accounts
from .ledger import transaction_post
from .models import OverspendPolicy, Payout, Period
from .selectors import payouts_unposted
from .services import budget_lock


@dataclass(frozen=True)
class Request:
    contribution_id: int
    amount: Decimal
    fixed_price: bool = False


@dataclass
class Grant:
    contribution_id: int
    requested: Decimal
    granted: Decimal
    code: str
    params: dict = field(default_factory=dict)


def percent(part: Decimal, whole: Decimal) -> str:
    return str(to_money(part * 100 / whole)) if whole else "0.00"


def grants_pro_rata(requests: list[Request], available: Decimal, rotation: int, code: str, params: dict) -> list[Grant]:
    amounts = [r.amount for r in requests]
    parts = split_largest_remainder(available, amounts, rotation=rotation)
    return [Grant(r.contribution_id, r.amount, part, code, params) for r, part in zip(requests, parts, strict=True)]


def grants_compute(*, requests: list[Request], available: Decimal, policy: str, rotation: int) -> list[Grant] | None:
    """What each request is granted; None when the requests exceed the money under `hold`.

    Pure: the closing calls it on its frozen snapshot. Granted amounts never exceed
    the requests and sum to min(available, total requested), to the cent.
    """
    available = max(to_money(available), ZERO)
    total = sum((r.amount for r in requests), ZERO)
    if total <= available:
        return [Grant(r.contribution_id, r.amount, r.amount, "granted_in_full") for r in requests]
    params = {"ratio": percent(available, total), "requested": str(total), "available": str(available)}
    if policy == OverspendPolicy.PRO_RATA:
        return grants_pro_rata(requests, available, rotation, "pro_rata", params)
    if policy == OverspendPolicy.SERVICES_FIRST:
        services = [r for r in requests if r.fixed_price]
        others = [r for r in requests if not r.fixed_price]
        services_total = sum((r.amount for r in services), ZERO)
        if services_total >= available:
            scaled = {"ratio": percent(available, services_total), "requested": str(services_total),
                      "available": str(available)}
            grants = grants_pro_rata(services, available, rotation, "services_first_scaled", scaled)
            grants += [Grant(r.contribution_id, r.amount, ZERO, "services_first_nothing_left",
                             {"services": str(services_total), "available": str(available)}) for r in others]
        else:
            rest = available - services_total
            grants = [Grant(r.contribution_id, r.amount, r.amount, "services_first_full") for r in services]
            others_total = sum((r.amount for r in others), ZERO)
            rest_params = {"services": str(services_total), "rest": str(rest),
                           "ratio": percent(rest, others_total)}
            grants += grants_pro_rata(others, rest, rotation, "services_first_rest", rest_params)
        order = {r.contribution_id: i for i, r in enumerate(requests)}
        return sorted(grants, key=lambda g: order[g.contribution_id])
    return None


def payouts_record(*, period: Period, grants: list[Grant], people: dict[int, int]) -> list[Payout]:
    """One payout per grant of a closing period; `people` maps each claim to the person it pays."""
    return Payout.objects.bulk_create([
        Payout(collective_id=period.collective_id, contribution_id=g.contribution_id, period=period,
               person_id=people[g.contribution_id], requested=g.requested, granted=g.granted,
               explanation_code=g.code, explanation_params=g.params)
        for g in grants
    ])


def payout_grant_post(*, payout: Payout, actor: User | None = None) -> None:
    """Step 2 for one payout: post its grant once, backed by received money first, then pledged."""
    with transaction.atomic():
        budget = budget_lock(payout.period.budget)
        payout = Payout.objects.select_for_update().select_related("person").get(pk=payout.pk)
        if payout.grant_transaction_id is not None:
            return
        received = accounts.budget_received_account(budget)
        backed = min(payout.granted, received.balance)
        owed = payout.granted - backed
        collective = budget.collective
        legs = []
        if backed:
            legs += [(received, -backed),
                     (accounts.person_account(collective=collective, user=payout.person, state="payable"), backed)]
        if owed:
            legs += [(accounts.budget_pledged_account(budget), -owed),
                     (accounts.person_account(collective=collective, user=payout.person, state="owed"), owed)]
        posted = transaction_post(collective=collective, kind="grant", legs=legs, actor=actor,
                                  memo=_("Granted for declaration #%(id)s") % {"id": payout.contribution_id},
                                  idempotency_key=f"grant:{payout.contribution_id}", linked=payout)
        Payout.objects.filter(pk=payout.pk).update(payable_amount=backed, grant_transaction=posted)
        audit_record(collective=collective, actor=actor, action="payout.granted", target=payout,
                     before={"payable": str(payout.payable_amount)},
                     after={"granted": str(payout.granted), "payable": str(backed), "owed": str(owed)})


def period_grants_post(*, period: Period, actor: User | None = None) -> int:
    """Post every grant of a closed period still missing from the ledger; returns how many were posted."""
    posted = 0
    for payout in payouts_unposted(period=period):
        payout_grant_post(payout=payout, actor=actor)
        posted += 1
    return posted
