"""Equal Shares rounds: participants support buckets while funding is open; the close shares the round's total
with the Method of Equal Shares (cobudget.equal_shares) and pays the selected buckets from the round's account.

A bucket's cost is its minimum goal. Every participant counts as a voter (those who support nothing too), so
each holds an equal part of the total. What no selected bucket needs goes back where the total came from (the
pool for a round funded from it, else the round's source).
"""

import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from budgets.ledger import Posting, transactions_post_many
from contrib_budget.errors import Conflict, DomainError, Forbidden
from contrib_budget.money import ZERO
from members.audit import audit_record
from members.models import User

from ..equal_shares import Completion, Outcome, Project, equal_shares, seeded_order
from ..models import Bucket, BucketStatus, BucketSupport, Round, RoundMode, RoundStatus, TieRule, Wallet
from .rounds import funding_is_open, pool_account, round_source_account, round_total_account


def _supportable(bucket: Bucket, actor: User) -> Round:
    """The bucket's round, locked FOR SHARE, once it is sure `actor` may support the bucket now."""
    round = Round.objects.select_for_update(of=("self",), no_key=True).get(pk=bucket.round_id)
    if not Wallet.objects.filter(round=round, user=actor).exists():
        raise Forbidden(_("Only the round's participants support its buckets."), "not_participant")
    if round.mode != RoundMode.EQUAL_SHARES:
        raise Conflict(_("Buckets are supported in Equal Shares rounds only: here, give from your wallet."),
                       "not_equal_shares")
    if not funding_is_open(round):
        raise Conflict(_("Support is open only while the round's funding is."), "funding_closed")
    if Bucket.objects.filter(pk=bucket.pk, status=BucketStatus.OPEN).count() == 0:
        raise Conflict(_("Only a bucket open for funding can be supported."), "bucket_not_open")
    return round


def bucket_support(*, bucket: Bucket, actor: User, score: int = 1) -> BucketSupport:
    """Support `bucket` (or change the score given): 1 unless the round allows scores from 1 to 5."""
    with transaction.atomic():
        round = _supportable(bucket, actor)
        highest = 5 if round.allow_scores else 1
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= highest:
            message = (_("Give a score from 1 to 5.") if round.allow_scores
                       else _("This round does not use scores: support is 1."))
            raise DomainError(message, "invalid_score", fields={"score": [message]})
        support, _created = BucketSupport.objects.update_or_create(
            bucket=bucket, user=actor, defaults={"collective": bucket.collective, "round": round, "score": score})
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_supported", target=bucket,
                     after={"score": score})
    return support


def bucket_support_withdraw(*, bucket: Bucket, actor: User) -> None:
    """Take one's support of `bucket` back while the funding window is open."""
    with transaction.atomic():
        _supportable(bucket, actor)
        removed, _kinds = BucketSupport.objects.filter(bucket=bucket, user=actor).delete()
        if not removed:
            raise Conflict(_("You do not support this bucket."), "not_supported")
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_support_withdrawn",
                     target=bucket, after={})


def _outcome(round: Round, buckets: list[Bucket], tie_order: list[int] | None) -> Outcome:
    supports: dict[int, dict[int, int]] = {}
    for bucket_id, user_id, score in BucketSupport.objects.filter(round=round).values_list(
            "bucket_id", "user_id", "score"):
        supports.setdefault(bucket_id, {})[user_id] = score
    voters = sorted(Wallet.objects.filter(round=round).values_list("user_id", flat=True))
    projects = [Project(id=bucket.pk, cost=bucket.min_goal, rank=rank) for rank, bucket in enumerate(buckets)]
    completion: Completion = round.mes_completion  # type: ignore[assignment]  # the field's choices
    return equal_shares(total=round.total_amount or ZERO, projects=projects, supports=supports, voters=voters,
                        ballots="score" if round.allow_scores else "approval", completion=completion,
                        tie_break=tie_order)


def _results(outcome: Outcome, seed: str) -> dict:
    """The outcome as the round keeps it (JSON): per bucket, why it was or was not selected, with its figures."""
    return {
        "tie_seed": seed, "spent": str(outcome.spent), "left": str(outcome.left),
        "selected": outcome.selected,
        "buckets": {str(bucket_id): {
            "selected": explanation.selected, "cost": str(explanation.cost), "reason": explanation.reason,
            "supporters": list(explanation.supporters), "missing": str(explanation.missing),
            "shares": {str(user_id): str(share) for user_id, share in explanation.shares.items()},
        } for bucket_id, explanation in outcome.explanations.items()},
    }


def equal_shares_fund(*, round: Round, actor: User | None) -> None:
    """At the close of an Equal Shares round (closed, locked by the caller): select the buckets, pay each its cost
    from the round's account and give the rest back, once (a second call finds the results kept)."""
    if round.mode != RoundMode.EQUAL_SHARES or round.results or round.status != RoundStatus.CLOSED:
        return
    buckets = list(Bucket.objects.filter(round=round, status=BucketStatus.OPEN).select_related("account")
                   .order_by("created_at", "pk"))
    seed = secrets.token_hex(8) if round.tie_rule == TieRule.DRAW else ""
    outcome = _outcome(round, buckets, seeded_order([b.pk for b in buckets], seed) if seed else None)
    by_id = {bucket.pk: bucket for bucket in buckets}
    total_account = round_total_account(round)
    postings = [Posting(kind="cobudget_equal_shares", linked=by_id[bucket_id],
                        legs=[(total_account, -outcome.explanations[bucket_id].cost),
                              (by_id[bucket_id].account, outcome.explanations[bucket_id].cost)],
                        idempotency_key=f"cobudget:round:{round.pk}:equal_shares:{bucket_id}",
                        memo=_("%(bucket)s selected by Equal Shares") % {"bucket": by_id[bucket_id].title})
                for bucket_id in outcome.selected]
    if outcome.left:
        back = pool_account(round.collective) if round.funded_from_pool else round_source_account(round)
        postings.append(Posting(kind="cobudget_equal_shares_left", linked=round,
                                legs=[(total_account, -outcome.left), (back, outcome.left)],
                                idempotency_key=f"cobudget:round:{round.pk}:equal_shares:left",
                                memo=_("Left of %(round)s") % {"round": round.name}))
    transactions_post_many(collective=round.collective, postings=postings, actor=actor)
    round.results = _results(outcome, seed)
    round.save(update_fields=["results"])
    audit_record(collective=round.collective, actor=actor, action="cobudget.equal_shares_computed", target=round,
                 after={"selected": outcome.selected, "spent": str(outcome.spent), "tie_seed": seed})
