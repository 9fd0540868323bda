"""What the round, bucket and results pages show of delegations, read once per request whatever the number of
buckets the page shows (the views stay as they are: the templates ask)."""

from dataclasses import dataclass, field

from django import template

from cobudget import selectors
from cobudget.delegation_views import delegate_form
from cobudget.models import Delegation, Round, RoundMode, RoundStatus, Wallet

register = template.Library()


@dataclass
class Delegations:
    """The reader's delegations in a round: the one they gave (or None), the wallets delegated to them."""

    given: Delegation | None = None
    received: list[Wallet] = field(default_factory=list)
    form: object = None


def _cached(request, key: str, compute):
    cache = request.__dict__.setdefault("_cobudget_delegation", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


@register.simple_tag(takes_context=True)
def delegations(context, round: Round) -> Delegations:
    """The reader's delegations in a live round (nothing in an Equal Shares round)."""
    request, wallet = context["request"], context.get("wallet")
    if round.mode != RoundMode.LIVE or wallet is None:
        return Delegations()  # only a participant delegates or receives a wallet

    def compute() -> Delegations:
        round.collective = request.collective
        # The wallet says whether there is any delegation to read (selectors.wallet_of).
        given, received = (selectors.delegations_of(round, request.user) if getattr(wallet, "in_delegation", True)
                           else (None, []))
        found = Delegations(given=given, received=received)
        if round.status == RoundStatus.OPEN and found.given is None and not found.received:
            found.form = delegate_form(request)
        return found

    return _cached(request, f"round:{round.pk}", compute)


@register.simple_tag(takes_context=True)
def given_on_behalf(context, round: Round, bucket) -> list[tuple]:
    """What delegates gave to `bucket` on others' behalf: (delegate id, name, owner id, name, amount) rows; one
    query for the round's buckets the page lists (`winners` and `others`, or `buckets`)."""
    request = context["request"]

    def compute() -> dict:
        shown = [*context.get("winners", []), *context.get("others", []), *context.get("buckets", [])]
        return selectors.given_on_behalf(round, {b.pk for b in shown} | {bucket.pk})

    return _cached(request, f"behalf:{round.pk}", compute).get(bucket.pk, [])
