"""What the round page shows of a round that redistributes: the close of its first window, its second window."""

from django import template

from cobudget.models import Round
from cobudget.redistribution_pages import Redistribution, redistribution_of

register = template.Library()


@register.simple_tag
def redistribution(round: Round, is_coordinator: bool = False) -> Redistribution:
    """Where `round` stands if it redistributes (the coordinator's confirmation of the first close included)."""
    return redistribution_of(round, is_coordinator=bool(is_coordinator))
