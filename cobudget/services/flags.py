"""Flags against a round's guidelines: a member raises one on a bucket, a coordinator resolves it, saying why."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, checked
from members.audit import audit_record
from members.models import User

from ..models import Bucket, BucketFlag
from ..permissions import RESOLVE_FLAGS


def _required(field: str, value: str, message: str) -> str:
    value = checked(field, (value or "").strip(), text.multi_line(2000))
    if not value:
        raise DomainError(message, "empty", fields={field: [_("This field is required.")]})
    return value


def bucket_flag(*, bucket: Bucket, actor: User, reason: str) -> BucketFlag:
    reason = _required("reason", reason, _("Say which guideline this bucket goes against."))
    with transaction.atomic():
        flag, created = BucketFlag.objects.get_or_create(
            bucket=bucket, author=actor, defaults={"collective": bucket.collective, "reason": reason}
        )
        if not created:
            raise Conflict(_("You have already flagged this bucket."), "already_flagged")
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_flagged", target=bucket,
                     after={"reason": reason})
    return flag


def bucket_flag_resolve(*, flag: BucketFlag, actor: User, resolution: str) -> BucketFlag:
    """A coordinator settles a flag (the bucket was changed, or the concern does not hold), saying how: the flag
    stays on the bucket, marked resolved, by whom and why."""
    RESOLVE_FLAGS.require(collective=flag.collective, actor=actor)
    resolution = _required("resolution", resolution, _("Say how this flag is resolved."))
    with transaction.atomic():
        flag = BucketFlag.objects.of(flag.collective_id).select_for_update().select_related("bucket").get(pk=flag.pk)
        if flag.resolved_at is not None:
            raise Conflict(_("This flag is already resolved."), "already_resolved")
        flag.resolved_at, flag.resolved_by, flag.resolution = timezone.now(), actor, resolution
        flag.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        audit_record(collective=flag.collective, actor=actor, action="cobudget.flag_resolved", target=flag.bucket,
                     after={"flag": flag.pk, "resolution": resolution})
    return flag
