"""What the accountant's area tells people: exports ready or failed to who asked, periods left unlocked at the
end of a month to accountants."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext

from budgets.selectors import periods_settled_unlocked
from members.models import Role
from members.notifications.kinds import Kind, register
from members.notifications.reminders import enabled_for, reminder_provider
from members.notifications.services import notify
from members.selectors import member_ids_with_role

from .models import Export, ExportKind


def _kind_label(code: str) -> str:
    return str(ExportKind(code).label) if code in ExportKind.values else code


def _export_ready_text(params: dict, currency: str) -> str:
    return ngettext("Your export “%(kind)s” is ready (%(rows)s row).",
                    "Your export “%(kind)s” is ready (%(rows)s rows).",
                    params["rows"]) % {**params, "kind": _kind_label(params["kind"])}


def _export_failed_text(params: dict, currency: str) -> str:
    return str(gettext_lazy("Your export “%(kind)s” could not be written. Ask for it again; if it fails again, "
                            "tell the coordinators.")) % {"kind": _kind_label(params["kind"])}


def _to_lock_text(params: dict, currency: str) -> str:
    return ngettext("%(count)s settled period of %(collective)s is not locked yet: lock it so its books cannot change.",
                    "%(count)s settled periods of %(collective)s are not locked yet: lock them so their books "
                    "cannot change.", params["count"]) % params


register(
    Kind("export.ready", gettext_lazy("My exports ready"), render=_export_ready_text),
    Kind("export.failed", gettext_lazy("My exports failed"), render=_export_failed_text),
    Kind("period.to_lock", gettext_lazy("Reminders of settled periods to lock (accountants)"), render=_to_lock_text),
)


def export_notify(*, export: Export, ready: bool) -> None:
    """The person who asked for the export; the link downloads it."""
    url = reverse("accounting_export_download", args=[export.collective.slug, export.pk])
    if ready:
        notify(collective=export.collective, kind="export.ready", recipients=[export.requested_by_id], url=url,
               params={"kind": export.kind, "rows": export.row_count})
    else:
        notify(collective=export.collective, kind="export.failed", recipients=[export.requested_by_id],
               url=reverse("accounting_index", args=[export.collective.slug]) + f"#export-{export.pk}",
               params={"kind": export.kind})


@reminder_provider
def remind_to_lock(now: datetime) -> int:
    """On the last day of a month (the collective's), accountants hear of the settled periods not yet locked."""
    sent = 0
    for collective in enabled_for("lock_enabled"):
        today = now.astimezone(ZoneInfo(collective.timezone)).date()
        if (today + timedelta(days=1)).month == today.month:
            continue
        count = periods_settled_unlocked(collective).count()
        if not count:
            continue
        sent += len(notify(
            collective=collective, kind="period.to_lock", params={"count": count, "collective": collective.name},
            recipients=member_ids_with_role(collective, Role.ACCOUNTANT),
            url=reverse("accounting_index", args=[collective.slug]), occasion=f"period.to_lock:{today:%Y-%m}",
        ))
    return sent
