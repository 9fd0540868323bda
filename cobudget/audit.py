"""The audit log of rounds and buckets: what it records, in the reader's language; and while a round hides who gave
what, the log hides it too: allocations, take-backs and merges of its buckets keep their action and bucket, not
who nor how much, until the close (nor does a search by person find them)."""

from decimal import Decimal

from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy, ngettext

from contrib_budget.money import format_money
from members.audit import audit_hider, audit_namer, audit_redactor, audit_vocabulary

from .models import Bucket, BucketComment, RoundStatus

HIDDEN_ACTIONS = ("cobudget.allocate", "cobudget.retract", "cobudget.bucket_merged")


def _hiding_buckets(collective_ids):
    return Bucket.objects.filter(collective_id__in=collective_ids, round__hide_allocations_until_close=True).exclude(
        round__status=RoundStatus.CLOSED)


@audit_hider
def hidden_allocations_condition(collective) -> Q:
    """The same events as `hidden_allocations`, as a condition of the query (a subquery: no query of its own)."""
    buckets = _hiding_buckets([collective.pk]).annotate(key=Cast("pk", CharField())).values("key")
    return Q(action__in=HIDDEN_ACTIONS, target_type="cobudget.bucket", target_id__in=buckets)


@audit_redactor
def hidden_allocations(events) -> set[int]:
    candidates = [event for event in events
                  if event.action in HIDDEN_ACTIONS and event.target_type == "cobudget.bucket" and event.target_id]
    if not candidates:
        return set()
    hidden_buckets = {str(pk) for pk in _hiding_buckets({event.collective_id for event in candidates}).filter(
        pk__in={int(event.target_id) for event in candidates}).values_list("pk", flat=True)}
    return {event.pk for event in candidates if event.target_id in hidden_buckets}


def _returned(value, collective) -> str:
    """What a merge gave back over the members' maximum: the total, and to how many people (who stays private)."""
    if not isinstance(value, dict) or not value:
        return "—"
    total = sum((Decimal(str(amount)) for amount in value.values()), Decimal("0"))
    return ngettext("%(total)s to %(count)s person", "%(total)s to %(count)s people", len(value)) % {
        "total": format_money(total, collective.currency), "count": len(value)}


audit_vocabulary("cobudget.round", labels={
    "total": gettext_lazy("money in the envelopes"), "participants": gettext_lazy("participants"),
    "selected": gettext_lazy("buckets selected"), "spent": gettext_lazy("spent"),
    "tie_seed": gettext_lazy("seed of the draw breaking ties"),
})
audit_vocabulary("cobudget.bucket", labels={
    "amount": gettext_lazy("amount"),
    "funded": gettext_lazy("funded so far"),
    "comment": gettext_lazy("comment"),
    "reason": gettext_lazy("reason"),
    "into": gettext_lazy("merged into"),
    "moved": gettext_lazy("moved"),
    "returned": gettext_lazy("given back"),
    "returned_over_member_maximum": gettext_lazy("given back over the maximum per member"),
    "budget": gettext_lazy("budget"),
    "envelope": gettext_lazy("mission"),
    "flag": gettext_lazy("flag"),
    "score": gettext_lazy("score"),
    "resolution": gettext_lazy("how it was resolved"),
}, references={
    "into": "cobudget.bucket", "budget": "budgets.budget", "envelope": "budgets.envelope",
    "comment": "cobudget.bucketcomment",
}, renderers={"returned_over_member_maximum": _returned})


@audit_namer("cobudget.bucketcomment")
def _comments(collective, ids: list[str]) -> dict[str, str]:
    """A comment by its first words."""
    comments = BucketComment.objects.of(collective).filter(pk__in=[int(pk) for pk in ids]).only("pk", "body")
    return {str(c.pk): f"“{Truncator(' '.join(c.body.split())).chars(80)}”" for c in comments}
