"""Envelope amounts for a round: equal, set per member, or weighted with floor and cap.

Every amount is exact to the cent and the parts of a shared total always sum
to it (largest remainder, rotating the odd cent with the round's id).
"""

from decimal import Decimal, localcontext

from django.utils.translation import gettext as _

from contrib_budget.errors import DomainError
from contrib_budget.money import ZERO, split_largest_remainder, to_money


def weighted_envelopes(
    *, total: Decimal, weights: dict[int, Decimal], floor: Decimal | None, cap: Decimal | None, rotation: int = 0
) -> dict[int, Decimal]:
    """Share `total` among `weights`' keys in proportion to their weights, each between floor and cap.

    The shares are clamp(λ·w, floor, cap) for the one λ that makes them sum to
    the total; a person with no weight gets the floor. If nobody has any
    weight, the total is shared equally.
    """
    people = sorted(weights)
    if not people:
        raise DomainError(_("This round has no participants."), "no_participants")
    total = to_money(total)
    low = floor or ZERO
    if any(weights[p] < 0 for p in people):
        raise DomainError(_("Contributions cannot weigh less than nothing."), "negative_weight")
    if sum(weights.values(), ZERO) == 0:
        weights = {p: Decimal(1) for p in people}
    weighted = [p for p in people if weights[p] > 0]
    most = low * (len(people) - len(weighted)) + (cap * len(weighted) if cap is not None else total)
    if low * len(people) > total:
        raise DomainError(
            _("The total (%(total)s) cannot give everyone the minimum envelope (%(floor)s).")
            % {"total": total, "floor": low},
            "envelope_floor_too_high", fields={"envelope_floor": [_("Too high for this total.")]},
        )
    if most < total:
        raise DomainError(
            _("The maximum envelope (%(cap)s) cannot share out the whole total (%(total)s).")
            % {"cap": cap, "total": total},
            "envelope_cap_too_low", fields={"envelope_cap": [_("Too low for this total.")]},
        )

    def clamp(value: Decimal) -> Decimal:
        value = max(value, low)
        return min(value, cap) if cap is not None else value

    with localcontext() as context:
        context.prec = 50
        lo, hi = Decimal(0), Decimal(1)
        while sum(clamp(hi * weights[p]) if weights[p] > 0 else low for p in people) < total:
            hi *= 2
        for _step in range(200):
            mid = (lo + hi) / 2
            if sum(clamp(mid * weights[p]) if weights[p] > 0 else low for p in people) < total:
                lo = mid
            else:
                hi = mid
        factor = hi
    shares: dict[int, Decimal] = {}
    free: list[int] = []
    for person in people:
        share = factor * weights[person]
        if weights[person] == 0 or share < low:
            shares[person] = low
        elif cap is not None and share > cap:
            shares[person] = cap
        else:
            free.append(person)
    # λ makes the clamped shares sum to the total, so the free people share exactly what is left.
    rest = total - sum(shares.values(), ZERO)
    parts = split_largest_remainder(rest, [weights[p] for p in free], rotation=rotation)
    for person, part in zip(free, parts, strict=True):
        shares[person] = part
    return shares
