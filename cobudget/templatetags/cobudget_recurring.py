"""What the round and bucket pages show of recurring rounds: the template a round belongs to, and the toggle that
keeps a bucket for the next round (the views stay as they are: the templates ask)."""

from dataclasses import dataclass

from django import template

from cobudget.models import Bucket, BucketStatus, Round, RoundStatus
from cobudget.services.recurring import NOT_CARRIED, next_round_made

register = template.Library()


@dataclass
class CarryOver:
    """Whether the reader may keep (or stop keeping) the bucket for the next round, and whether it is kept."""

    offered: bool = False
    kept: bool = False


@register.simple_tag
def carry_over(bucket: Bucket, round: Round, may_change: bool) -> CarryOver:
    """The carry-over toggle of a bucket of a round in a template's series, for its carriers and coordinators,
    until the next round is made."""
    if not may_change or round.template_id is None:
        return CarryOver(kept=bucket.carry_over)
    ended = round.status == RoundStatus.CLOSED and bucket.status != BucketStatus.UNFUNDED
    carriable = bucket.carry_over or (bucket.status not in NOT_CARRIED and not ended)
    return CarryOver(offered=carriable and not next_round_made(round), kept=bucket.carry_over)
