"""What cobudget rounds tell people: openings, closings and their results to participants, news of a bucket
to its carriers, proposals waiting for approval to coordinators. Nobody learns who gave what."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy, ngettext

from members.models import Role
from members.notifications.kinds import Kind, formatted, register
from members.notifications.models import EmailMode
from members.notifications.services import Notice, notify, notify_each
from members.selectors import member_ids_with_role

from .models import Allocation, Bucket, BucketStatus, Round, Wallet

FUNDED = (BucketStatus.FUNDED, BucketStatus.PARTIALLY_FUNDED, BucketStatus.COMPLETED)


def _round_closed_text(params: dict, currency: str) -> str:
    values = formatted(params, currency, money=("given",))
    return ngettext(
        "The round “%(round)s” is closed: %(funded)s bucket of %(total)s is funded; %(given)s of what you gave went "
        "to funded buckets.",
        "The round “%(round)s” is closed: %(funded)s buckets of %(total)s are funded; %(given)s of what you gave went "
        "to funded buckets.",
        params["funded"],
    ) % values


register(
    Kind("round.opened", gettext_lazy("Rounds opening"),
         gettext_lazy("The round “%(round)s” is open: you have %(envelope)s to give to the buckets you choose."),
         money=("envelope",), email=EmailMode.DAILY),
    Kind("round.closing_soon", gettext_lazy("Reminders of money left in my wallet before a round closes"),
         gettext_lazy("The round “%(round)s” closes on %(closes_at)s and %(left)s is still in your wallet."),
         money=("left",), dates=("closes_at",)),
    Kind("round.closed", gettext_lazy("Rounds closing, with my results"), render=_round_closed_text,
         email=EmailMode.DAILY),
    Kind("bucket.proposed", gettext_lazy("Buckets waiting for approval (coordinators)"),
         gettext_lazy("%(name)s proposed the bucket “%(bucket)s” in “%(round)s”: it waits for approval."),
         email=EmailMode.DAILY),
    Kind("bucket.approved", gettext_lazy("Approval of my buckets"),
         gettext_lazy("Your bucket “%(bucket)s” is approved: it is open for funding."), email=EmailMode.DAILY),
    Kind("bucket.funded", gettext_lazy("Funding of my buckets"),
         gettext_lazy("Your bucket “%(bucket)s” is funded: %(funded)s."), money=("funded",), email=EmailMode.DAILY),
    Kind("bucket.commented", gettext_lazy("Comments on my buckets"),
         gettext_lazy("%(name)s wrote on your bucket “%(bucket)s”: %(comment)s"), email=EmailMode.DAILY),
)


def round_url(round: Round) -> str:
    return reverse("cobudget_round", args=[round.collective.slug, round.pk])


def bucket_url(bucket: Bucket) -> str:
    return reverse("cobudget_bucket", args=[bucket.collective.slug, bucket.pk])


def _carriers(bucket: Bucket) -> list[int]:
    return list(bucket.carriers.values_list("pk", flat=True))


def round_opened_notify(*, round: Round, envelopes: dict[int, Decimal], actor) -> None:
    url = round_url(round)
    notify_each(collective=round.collective, kind="round.opened", actor=actor, notices=[
        Notice(user_id, {"round": round.name, "envelope": str(amount)}, url) for user_id, amount in envelopes.items()
    ])


def round_closed_notify(*, round: Round, actor) -> None:
    """Each participant: how many buckets were funded, and how much of what they gave went to them."""
    buckets = Bucket.objects.filter(round=round).exclude(status__in=(BucketStatus.DRAFT, BucketStatus.CANCELLED))
    counts = buckets.aggregate(total=Count("pk"), funded=Count("pk", filter=Q(status__in=FUNDED)))
    given = dict(Allocation.objects.filter(round=round, bucket__status__in=FUNDED).values("user_id")
                 .annotate(net=Sum("amount")).values_list("user_id", "net"))
    base = {"round": round.name, "total": counts["total"] or 0, "funded": counts["funded"] or 0}
    url = round_url(round)
    notify_each(collective=round.collective, kind="round.closed", actor=actor, notices=[
        Notice(user_id, {**base, "given": str(given.get(user_id) or Decimal(0))}, url)
        for user_id in Wallet.objects.filter(round=round).values_list("user_id", flat=True)
    ])


def wallet_reminder_notices(*, round: Round, balances: dict[int, Decimal]) -> list[Notice]:
    closes_at = round.funding_closes_at.astimezone(ZoneInfo(round.collective.timezone)).replace(tzinfo=None)
    params = {"round": round.name, "closes_at": datetime.isoformat(closes_at, timespec="minutes")}
    occasion = f"round.closing_soon:{round.pk}"
    return [Notice(user_id, {**params, "left": str(left)}, round_url(round), occasion=occasion)
            for user_id, left in balances.items() if left > 0]


def bucket_proposed_notify(*, bucket: Bucket, actor) -> None:
    notify(collective=bucket.collective, kind="bucket.proposed", actor=actor,
           recipients=member_ids_with_role(bucket.collective, Role.COORDINATOR), url=bucket_url(bucket),
           params={"name": actor.display_name, "bucket": bucket.title, "round": bucket.round.name})


def bucket_approved_notify(*, bucket: Bucket, actor) -> None:
    notify(collective=bucket.collective, kind="bucket.approved", actor=actor, recipients=_carriers(bucket),
           url=bucket_url(bucket), params={"bucket": bucket.title})


def bucket_funded_notify(*, bucket: Bucket, funded: Decimal, actor) -> None:
    notify(collective=bucket.collective, kind="bucket.funded", actor=actor, recipients=_carriers(bucket),
           url=bucket_url(bucket), params={"bucket": bucket.title, "funded": str(funded)})


def bucket_commented_notify(*, bucket: Bucket, body: str, actor) -> None:
    notify(collective=bucket.collective, kind="bucket.commented", actor=actor, recipients=_carriers(bucket),
           url=bucket_url(bucket), params={"name": actor.display_name, "bucket": bucket.title,
                                           "comment": Truncator(" ".join(body.split())).chars(80)})
