"""The Method of Equal Shares (MES), exactly, for Equal Shares rounds.

The total is split equally among all the voters (those who support nothing too). Then, repeatedly, the project
that its supporters can pay at the lowest price per unit of utility (rho) is selected, and its supporters pay
rho x their utility each, or all they have left if that is less; a project its supporters can no longer pay is
out. Utility is the project's cost for approval ballots (the standard MES: supporters share the cost equally)
and the score for score ballots; both as pabutools' `method_of_equal_shares` (Cost_Sat, Additive_Cardinal_Sat),
which the tests compare this module with.

Arithmetic is exact (Fraction); money comes in and goes out as Decimal with two places.
"""

import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from math import lcm
from typing import Generic, Literal, TypeVar

from contrib_budget.money import CENT, ZERO, has_at_most_two_decimals, split_largest_remainder, to_money

P = TypeVar("P", bound=Hashable)
V = TypeVar("V", bound=Hashable)

Ballots = Literal["approval", "score"]
Completion = Literal["none", "add_one", "utilitarian"]
Reason = Literal["selected", "selected_by_completion", "too_little_support", "over_total"]

MAX_SCORE = 5
# Add1 raises every voter's share by one unit of money (a euro), as equalshares.net and pabutools do.
ADD_ONE_STEP = Decimal("1")


@dataclass(frozen=True)
class Project(Generic[P]):
    id: P
    cost: Decimal
    # Ties go to the lowest rank (e.g. the order of proposal), then to the earlier place in the list.
    rank: int = 0


@dataclass(frozen=True)
class Explanation(Generic[V]):
    selected: bool
    cost: Decimal
    supporters: tuple[V, ...]
    # What each supporter paid, to the cent, summing exactly to the cost; empty for a project left out. Under
    # Add1 they paid out of the raised shares, so a voter may have paid more than the total / the voters.
    shares: dict[V, Decimal]
    # For a project left out: what its supporters lacked at the end (0.00 for a selected one).
    missing: Decimal
    reason: Reason


@dataclass(frozen=True)
class Outcome(Generic[P, V]):
    selected: list[P]
    explanations: dict[P, Explanation[V]]
    spent: Decimal
    left: Decimal


@dataclass(frozen=True)
class _Candidate:
    index: int  # place in the tie-break order
    cost: Fraction
    utilities: tuple[tuple[int, Fraction], ...]  # (voter index, utility > 0)
    total_utility: Fraction


@dataclass(frozen=True)
class _Run:
    selected: list[int]
    payments: dict[int, dict[int, Fraction]]  # candidate index -> voter index -> paid
    budgets: list[Fraction]  # what each voter has left

    def spent(self, candidates: dict[int, _Candidate]) -> Fraction:
        return sum((candidates[i].cost for i in self.selected), Fraction(0))


def seeded_order(project_ids: Sequence[P], seed: str) -> list[P]:
    """A tie-break order drawn from `seed`: the same ids in the same order and the same seed give the same draw."""
    order = list(project_ids)
    random.Random(seed).shuffle(order)
    return order


def equal_shares(
    *,
    total: Decimal,
    projects: Sequence[Project[P]],
    supports: Mapping[P, Mapping[V, int]],
    voters: Sequence[V],
    ballots: Ballots = "approval",
    completion: Completion = "add_one",
    tie_break: Sequence[P] | None = None,
) -> Outcome[P, V]:
    """Share `total` among `projects` by the Method of Equal Shares.

    `supports[project][voter]` is the voter's score (1 to 5; always 1 for approval ballots). `tie_break` lists
    every project id, the one to prefer first (e.g. `seeded_order`); by default, the lowest rank wins.
    `completion`: "none" is plain MES; "add_one" reruns MES with every voter's share raised by ADD_ONE_STEP
    until the selection leaves no supported project that would still fit in the total, or until one more step
    would cost more than the total (then the last selection that fitted stands); "utilitarian" adds, after plain
    MES, the supported projects that still fit, most utility per unit of cost first.
    """
    order = _tie_order(projects, tie_break)
    voter_index = _check(total, projects, supports, voters, ballots)
    candidates: dict[int, _Candidate] = {}
    for index, project in enumerate(order):
        cost = Fraction(project.cost)
        utilities = tuple(
            (voter_index[voter], cost if ballots == "approval" else Fraction(score))
            for voter, score in sorted(supports.get(project.id, {}).items(), key=lambda item: voter_index[item[0]])
        )
        if utilities:
            candidates[index] = _Candidate(index, cost, utilities, sum((u for _, u in utilities), Fraction(0)))
    limit = Fraction(total)
    share = limit / len(voters) if voters else Fraction(0)
    plain = run = _mes(share, len(voters), candidates)
    if completion == "add_one":
        while not _exhaustive(run, candidates, limit):
            share += Fraction(ADD_ONE_STEP)
            larger = _mes(share, len(voters), candidates)
            if larger.spent(candidates) > limit:
                break
            run = larger
    elif completion == "utilitarian":
        run = _utilitarian(plain, candidates, limit)
    completed = {i for i in run.selected if i not in plain.payments}
    return _outcome(total, order, voters, candidates, run, completed)


def _tie_order(projects: Sequence[Project[P]], tie_break: Sequence[P] | None) -> list[Project[P]]:
    if tie_break is None:
        return [p for _, p in sorted(enumerate(projects), key=lambda item: (item[1].rank, item[0]))]
    by_id = {p.id: p for p in projects}
    if len(tie_break) != len(by_id) or set(tie_break) != set(by_id):
        raise ValueError("The tie-break order must list every project once.")
    return [by_id[i] for i in tie_break]


def _check(
    total: Decimal,
    projects: Sequence[Project[P]],
    supports: Mapping[P, Mapping[V, int]],
    voters: Sequence[V],
    ballots: Ballots,
) -> dict[V, int]:
    """Refuse what the rule cannot mean; return each voter's place."""
    if total < 0 or not has_at_most_two_decimals(total):
        raise ValueError("The total must be an amount of money, not negative.")
    ids = [p.id for p in projects]
    if len(set(ids)) != len(ids):
        raise ValueError("Project ids must be unique.")
    if any(p.cost <= 0 or not has_at_most_two_decimals(p.cost) for p in projects):
        raise ValueError("Every project must cost an amount of money above zero.")
    voter_index = {voter: i for i, voter in enumerate(voters)}
    if len(voter_index) != len(voters):
        raise ValueError("Voter ids must be unique.")
    if set(supports) - set(ids):
        raise ValueError("Supports name a project that is not in the list.")
    top = 1 if ballots == "approval" else MAX_SCORE
    for supporters in supports.values():
        if set(supporters) - set(voter_index):
            raise ValueError("Supports name a voter who is not in the list.")
        if any(type(score) is not int or not 1 <= score <= top for score in supporters.values()):
            raise ValueError(f"A score is a whole number from 1 to {top}.")
    return voter_index


def _mes(share: Fraction, voter_count: int, candidates: dict[int, _Candidate]) -> _Run:
    budgets = [share] * voter_count
    # A project's price per unit of utility only rises as budgets shrink, so the last price found is a floor:
    # projects are looked at cheapest floor first, and the look stops at a floor above the best price found
    # (pabutools does the same). The first price is the floor with every supporter paying their part.
    floor = {c.index: c.cost / c.total_utility for c in candidates.values()}
    remaining = dict(candidates)
    selected: list[int] = []
    payments: dict[int, dict[int, Fraction]] = {}
    while True:
        best: _Candidate | None = None
        best_rho = Fraction(0)
        for candidate in sorted(remaining.values(), key=lambda c: (floor[c.index], c.index)):
            if best is not None and floor[candidate.index] > best_rho:
                break
            # Budgets only shrink: a project its supporters cannot pay now is out for good.
            if sum((budgets[v] for v, _ in candidate.utilities), Fraction(0)) < candidate.cost:
                del remaining[candidate.index]
                continue
            rho = floor[candidate.index] = _rho(candidate, budgets)
            # Among equal prices, the first in the tie-break order.
            if best is None or (rho, candidate.index) < (best_rho, best.index):
                best, best_rho = candidate, rho
        if best is None:
            return _Run(selected, payments, budgets)
        paid = {v: min(budgets[v], best_rho * u) for v, u in best.utilities}
        for v, amount in paid.items():
            budgets[v] -= amount
        selected.append(best.index)
        payments[best.index] = paid
        del remaining[best.index]


def _rho(candidate: _Candidate, budgets: list[Fraction]) -> Fraction:
    """The lowest price per unit of utility at which the supporters pay the cost, the poorest paying all they
    have. Only called when they can pay it, so the loop always stops at a supporter who can pay their part."""
    paid = Fraction(0)
    utility = candidate.total_utility
    rho = Fraction(0)
    for v, u in sorted(candidate.utilities, key=lambda vu: budgets[vu[0]] / vu[1]):
        rho = (candidate.cost - paid) / utility
        if rho * u <= budgets[v]:
            break
        paid += budgets[v]
        utility -= u
    return rho


def _exhaustive(run: _Run, candidates: dict[int, _Candidate], limit: Fraction) -> bool:
    left = limit - run.spent(candidates)
    return all(c.cost > left for i, c in candidates.items() if i not in run.payments)


def _utilitarian(run: _Run, candidates: dict[int, _Candidate], limit: Fraction) -> _Run:
    """`run` filled with the supported projects that fit, most utility per unit of cost first. The cost of each
    one added is laid on its supporters in proportion to their utility: the money is what MES left unspent,
    whoever held it."""
    left = limit - run.spent(candidates)
    selected, payments = list(run.selected), dict(run.payments)
    rest = [c for i, c in candidates.items() if i not in run.payments]
    for candidate in sorted(rest, key=lambda c: (-c.total_utility / c.cost, c.index)):
        if candidate.cost <= left:
            left -= candidate.cost
            selected.append(candidate.index)
            share = candidate.cost / candidate.total_utility
            payments[candidate.index] = {v: share * u for v, u in candidate.utilities}
    return _Run(selected, payments, run.budgets)


def _outcome(
    total: Decimal,
    order: list[Project[P]],
    voters: Sequence[V],
    candidates: dict[int, _Candidate],
    run: _Run,
    completed: set[int],
) -> Outcome[P, V]:
    spent = to_money(sum((order[i].cost for i in run.selected), ZERO))
    left = to_money(total - spent)
    explanations: dict[P, Explanation[V]] = {}
    for index, project in enumerate(order):
        candidate = candidates.get(index)
        voter_indices = [v for v, _ in candidate.utilities] if candidate else []
        supporters = tuple(voters[v] for v in voter_indices)
        if index in run.payments:
            paid = run.payments[index]
            parts = _split(project.cost, [paid[v] for v in voter_indices], rotation=run.selected.index(index))
            explanations[project.id] = Explanation(
                selected=True, cost=to_money(project.cost), supporters=supporters,
                shares=dict(zip(supporters, parts, strict=True)), missing=ZERO,
                reason="selected_by_completion" if index in completed else "selected",
            )
            continue
        # Add1 may leave the voters more (virtual) money than the total has left: they cannot pay more than that.
        could_pay = min(sum((run.budgets[v] for v in voter_indices), Fraction(0)), Fraction(left))
        explanations[project.id] = Explanation(
            selected=False, cost=to_money(project.cost), supporters=supporters, shares={},
            missing=_cents_up(Fraction(project.cost) - could_pay),
            reason="over_total" if project.cost > left else "too_little_support",
        )
    return Outcome([order[i].id for i in run.selected], explanations, spent, left)


def _split(cost: Decimal, payments: list[Fraction], *, rotation: int) -> list[Decimal]:
    """Round exact payments to cents that sum to the cost. The payments, scaled to whole numbers, are exact as
    Decimals; the precision is raised so that their sum inside split_largest_remainder is exact too."""
    denominator = lcm(*(p.denominator for p in payments))
    weights = [p.numerator * (denominator // p.denominator) for p in payments]
    with localcontext() as context:
        context.prec = max(context.prec, len(str(sum(weights))) + 2)
        return split_largest_remainder(cost, [Decimal(w) for w in weights], rotation=rotation)


def _cents_up(amount: Fraction) -> Decimal:
    """A shortfall to the cent above, so that it is always enough; never below zero."""
    if amount <= 0:
        return ZERO
    return Decimal(-(-amount.numerator * 100 // amount.denominator)) * CENT
