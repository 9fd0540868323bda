"""From requests to grants, and grants into the ledger.

What each request on a period is granted is computed by a pure rule (`grants_compute`); the payouts that
record the grants are then posted to the ledger in sets under the budget lock (one ledger transaction per grant,
inserted together, each account's balance moved once per set), each payout pointing at the transaction that
posted it, so posting again (another worker, a resumed closing) posts only what is missing. The claims themselves
(declarations) and the closing that freezes them belong to the app above.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget.bulk import copy_insert, ids_reserve
from contrib_budget.money import ZERO, split_largest_remainder, to_money
from members.audit import audit_record_many
from members.models import User

from . import accounts
from .ledger import Posting, transactions_post_many
from .models import Budget, OverspendPolicy, Payout, Period
from .selectors import payouts_unposted
from .services import budget_lock


# Slots: a closing holds one request and one grant per declaration of the period, by the hundred thousand.
@dataclass(frozen=True, slots=True)
class Request:
    contribution_id: int
    amount: Decimal
    fixed_price: bool = False


@dataclass(slots=True)
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


def payouts_record(*, period: Period, grants: list[Grant], people: dict[int, int]) -> dict[int, int]:
    """One payout per grant of a closing period; `people` maps each claim to the person it pays. Returns each
    claim's payout id."""
    ids = ids_reserve(Payout, len(grants))
    now = timezone.now()
    copy_insert(Payout, PAYOUT_COLUMNS, (
        (pk, period.collective_id, g.contribution_id, period.pk, people[g.contribution_id], g.requested, g.granted,
         ZERO, g.code, g.params, "", now)
        for pk, g in zip(ids, grants, strict=True)
    ))
    return {g.contribution_id: pk for pk, g in zip(ids, grants, strict=True)}


PAYOUT_COLUMNS = ["id", "collective", "contribution", "period", "person", "requested", "granted", "payable_amount",
                  "explanation_code", "explanation_params", "reference", "created_at"]


_LINK_GRANTS = """
    UPDATE budgets_payout AS payout SET payable_amount = posted.payable, grant_transaction_id = posted.txn
    FROM unnest(%s::bigint[], %s::numeric[], %s::bigint[]) AS posted(id, payable, txn)
    WHERE payout.id = posted.id
"""


def grants_post(*, budget: Budget, payouts: list[Payout], actor: User | None = None) -> None:
    """Post the grants of `payouts` (of `budget`, locked with it, not posted yet), in their order: each is backed
    by the budget's received money first, then by pledged money (owed to the person until it arrives)."""
    collective = budget.collective
    received = accounts.budget_received_account(budget)
    cash = received.balance
    backing = []
    for payout in payouts:
        backed = min(payout.granted, cash)
        cash -= backed
        backing.append((payout, backed, payout.granted - backed))
    people = [payout.person for payout in payouts]
    payable = accounts.person_accounts(collective=collective, users=people, state="payable")
    owing = [payout.person for payout, _backed, owed in backing if owed]
    if owing:
        pledged = accounts.budget_pledged_account(budget)
        owed_to = accounts.person_accounts(collective=collective, users=owing, state="owed")
    postings, memo = [], _("Granted for declaration #%(id)s")
    for payout, backed, owed in backing:
        legs = []
        if backed:
            legs += [(received, -backed), (payable[payout.person_id], backed)]
        if owed:
            legs += [(pledged, -owed), (owed_to[payout.person_id], owed)]
        postings.append(Posting(kind="grant", legs=legs, linked=payout,
                                idempotency_key=f"grant:{payout.contribution_id}",
                                memo=memo % {"id": payout.contribution_id}))
    posted = transactions_post_many(collective=collective, postings=postings, actor=actor)
    with connection.cursor() as cursor:
        cursor.execute(_LINK_GRANTS, [[payout.pk for payout in payouts], [backed for _p, backed, _o in backing],
                                      posted])
    audit_record_many(collective=collective, actor=actor, action="payout.granted", changes=(
        (payout, {"payable": str(payout.payable_amount)},
         {"granted": str(payout.granted), "payable": str(backed), "owed": str(owed)})
        for payout, backed, owed in backing
    ))


def payout_grant_post(*, payout: Payout, actor: User | None = None) -> None:
    """Post one payout's grant, unless it is posted already."""
    with transaction.atomic():
        budget = budget_lock(payout.period.budget)
        unposted = list(Payout.objects.select_for_update(of=("self",)).select_related("person")
                        .filter(pk=payout.pk, granted__gt=0, grant_transaction__isnull=True))
        if unposted:
            grants_post(budget=budget, payouts=unposted, actor=actor)


def period_grants_post(*, period: Period, actor: User | None = None) -> int:
    """Post every grant of a closed period still missing from the ledger, a set at a time, each set committed on
    its own (a closing killed halfway resumes where it stopped); returns how many were posted."""
    posted, per_set = 0, settings.POSTINGS_PER_TRANSACTION
    while True:
        with transaction.atomic():
            budget = budget_lock(period.budget)
            payouts = list(payouts_unposted(period=period).select_for_update(of=("self",))[:per_set])
            if not payouts:
                return posted
            grants_post(budget=budget, payouts=payouts, actor=actor)
        posted += len(payouts)
