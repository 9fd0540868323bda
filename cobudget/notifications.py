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
    Kind("round.redistribution", gettext_lazy("Money given back to me for a round's second window"),
         gettext_lazy("The first window of “%(round)s” is closed: %(amount)s from buckets below their minimum came "
                      "back to your wallet. Until %(closes_at)s you can give it to buckets not yet full."),
         money=("amount",), dates=("closes_at",)),
    Kind("bucket.proposed", gettext_lazy("Buckets waiting for approval (coordinators)"),
         gettext_lazy("%(name)s proposed the bucket “%(bucket)s” in “%(round)s”: it waits for approval."),
         email=EmailMode.DAILY),
    Kind("bucket.approved", gettext_lazy("Approval of my buckets"),
         gettext_lazy("Your bucket “%(bucket)s” is approved: it is open for funding."), email=EmailMode.DAILY),
    Kind("bucket.funded", gettext_lazy("Funding of my buckets"),
         gettext_lazy("Your bucket “%(bucket)s” is funded: %(funded)s."), money=("funded",), email=EmailMode.DAILY),
    Kind("bucket.commented", gettext_lazy("Comments on my buckets"),
         gettext_lazy("%(name)s wrote on your bucket “%(bucket)s”: %(comment)s"), email=EmailMode.DAILY),
    Kind("round.wallet_delegated", gettext_lazy("Wallets delegated to me"),
         gettext_lazy("%(name)s delegated their wallet in “%(round)s” to you: you can give from it until they take "
                      "it back."), email=EmailMode.DAILY),
    Kind("round.recurring_pool_short", gettext_lazy("Recurring rounds the pool cannot fund (coordinators)"),
         gettext_lazy("The round “%(round)s” was made from its template but stays in draft: its envelopes total "
                      "%(total)s and the cobudget pool holds only %(pool)s. Add money to the pool or lower the "
                      "envelopes, then open it."), money=("total", "pool")),
    Kind("round.recurring_not_opened", gettext_lazy("Recurring rounds that could not open (coordinators)"),
         gettext_lazy("The round “%(round)s” was made from its template but stays in draft: it could not open. "
                      "Check its set-up and participants, then open it.")),
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


def redistribution_opened_notify(*, round: Round, given_back: dict[int, Decimal], actor) -> None:
    """Each funder who got money back at the first close: how much, and until when they can give it again."""
    closes_at = round.redistribution_closes_at.astimezone(ZoneInfo(round.collective.timezone)).replace(tzinfo=None)
    params = {"round": round.name, "closes_at": datetime.isoformat(closes_at, timespec="minutes")}
    url = round_url(round)
    notify_each(collective=round.collective, kind="round.redistribution", actor=actor, notices=[
        Notice(user_id, {**params, "amount": str(amount)}, url, occasion=f"round.redistribution:{round.pk}")
        for user_id, amount in sorted(given_back.items()) if amount > 0
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


def wallet_delegated_notify(*, round: Round, delegate_id: int, actor) -> None:
    notify(collective=round.collective, kind="round.wallet_delegated", actor=actor, recipients=[delegate_id],
           url=round_url(round), params={"name": actor.display_name, "round": round.name})


def recurring_round_not_opened_notify(*, round: Round, pool_short: bool, params: dict, recipients: list[int],
                                      actor) -> None:
    """The coordinators: a round made from a template stays in draft (the pool could not pay, or it cannot open)."""
    kind = "round.recurring_pool_short" if pool_short else "round.recurring_not_opened"
    notify(collective=round.collective, kind=kind, actor=actor, recipients=recipients, url=round_url(round),
           params=params, occasion=f"{kind}:{round.pk}")
