"""Every write of the accounting area: exports, the chart of accounts, settings, period locks."""

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from budgets.models import AccountKind, Budget, Period, PeriodStatus
from cobudget.models import Round
from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError
from contrib_budget.money import format_money
from contrib_budget.queue import enqueue
from members.audit import audit_record
from members.models import Collective, User

from .chart import chart_of
from .dates import parse_date
from .exporters import REGISTRY, Exporter
from .models import AccountingSettings, AccountMapping, Export, ExportStatus, IssuedDocument
from .notifications import export_notify
from .permissions import ACCOUNTANT_ONLY, KEEP_BOOKS
from .selectors import accounting_settings_of
from .writers import CSV_DELIMITERS, FEC_SEPARATORS, WRITERS, Writer

logger = logging.getLogger(__name__)

PROGRESS_EVERY_ROWS = 5000
# A running export beats at least this often (progress and updated_at), even when its rows come slowly...
HEARTBEAT = timedelta(seconds=20)
# ...so one whose heartbeat is older than this was killed with its worker: beat queues it again.
STALE_AFTER = timedelta(seconds=settings.EXPORT_STALE_SECONDS)
FILTER_KEYS = ("budget", "period", "round", "account_kinds")


def fiscal_year_bounds(*, collective: Collective, day: date) -> tuple[date, date]:
    """The first and last days of the fiscal year that contains `day`."""
    start_month = accounting_settings_of(collective).fiscal_year_start_month
    year = day.year if day.month >= start_month else day.year - 1
    first = date(year, start_month, 1)
    next_first = date(year + 1, start_month, 1)
    return first, next_first - timedelta(days=1)


def _clean_params(*, collective: Collective, kind: str, fmt: str, params: dict[str, Any]) -> dict[str, Any]:
    exporter = REGISTRY.get(kind)
    if exporter is None:
        raise DomainError(_("Unknown kind of export."), "unknown_kind",
                          fields={"kind": [_("Choose among: %(kinds)s.") % {"kinds": ", ".join(REGISTRY)}]})
    if fmt not in exporter.formats:
        raise DomainError(_("This export is not available in that format."), "unsupported_format",
                          fields={"format": [_("Choose among: %(formats)s.")
                                             % {"formats": ", ".join(exporter.formats)}]})
    try:
        first, last = parse_date(params.get("from")), parse_date(params.get("to"))
    except ValueError:
        raise DomainError(_("Dates must be written YYYY-MM-DD."), "invalid_date",
                          fields={"from": [_("Dates must be written YYYY-MM-DD.")]}) from None
    if kind == "fec":
        # One file per fiscal year: the one that contains `from` (by default, the current one).
        year_first, year_last = fiscal_year_bounds(collective=collective, day=first or timezone.localdate())
        if last and last > year_last:
            raise DomainError(_("The FEC covers one fiscal year: one file per year."), "one_fiscal_year",
                              fields={"to": [_("Give a date up to %(date)s.") % {"date": year_last.isoformat()}]})
        first, last = year_first, year_last
    if first and last and last < first:
        raise DomainError(_("The end of the range comes before its start."), "invalid_range",
                          fields={"to": [_("The end of the range comes before its start.")]})
    cleaned = {"from": first.isoformat() if first else None, "to": last.isoformat() if last else None}
    if fmt == "csv":
        delimiter = params.get("delimiter") or ","
        if delimiter not in CSV_DELIMITERS:
            raise DomainError(_("The CSV delimiter is a comma or a semicolon."), "invalid_delimiter",
                              fields={"delimiter": [_("Choose , or ;.")]})
        cleaned["delimiter"] = delimiter
    if fmt == "txt":
        separator = params.get("separator") or "tab"
        if separator not in FEC_SEPARATORS:
            raise DomainError(_("The FEC separator is a tab or a pipe."), "invalid_separator",
                              fields={"separator": [_("Choose tab or pipe.")]})
        cleaned["separator"] = separator
    for key in FILTER_KEYS:
        if params.get(key) not in (None, "", []):
            cleaned[key] = params[key]
    _check_filter_ids(collective=collective, cleaned=cleaned)
    return cleaned


def _filtered_objects(collective: Collective) -> dict:
    return {
        "budget": (Budget.objects.of(collective), _("No budget of this collective has this id.")),
        "period": (Period.objects.of(collective), _("No period of this collective's budgets has this id.")),
        "round": (Round.objects.of(collective), _("No cobudget round of this collective has this id.")),
    }


def _check_filter_ids(*, collective: Collective, cleaned: dict) -> None:
    """A budget, period or round filter names an object of this collective: another collective's (or nobody's)
    would export nothing from it, silently, so it is refused, naming the filter."""
    errors = {}
    for key, (objects, message) in _filtered_objects(collective).items():
        if key not in cleaned:
            continue
        value = cleaned[key]
        pk = value if isinstance(value, int) and not isinstance(value, bool) else text.parse_id(value)
        if pk is None or not 0 < pk <= text.MAX_ID or not objects.filter(pk=pk).exists():
            errors[key] = [message]
    if errors:
        raise DomainError(next(iter(errors.values()))[0], "invalid_filter", fields=errors)


def export_request(*, collective: Collective, actor: User, kind: str, fmt: str, params: dict[str, Any]) -> Export:
    """Record an export and queue it; the file is written by a Celery worker."""
    KEEP_BOOKS.require(collective=collective, actor=actor)
    cleaned = _clean_params(collective=collective, kind=kind, fmt=fmt, params=params)
    with transaction.atomic():
        export = Export.objects.create(
            collective=collective, requested_by=actor, kind=kind, format=fmt, params=cleaned,
            expires_at=timezone.now() + timedelta(days=settings.EXPORTS_KEEP_DAYS),
        )
        audit_record(collective=collective, actor=actor, action="export.requested", target=export,
                     after={"kind": kind, "format": fmt, "params": cleaned})
        transaction.on_commit(lambda: _queue(export.pk))
    return export


def _queue(export_id: int) -> None:
    enqueue("accounting.tasks.run_export", export_id)


def export_retry(*, export: Export, actor: User) -> Export:
    """Ask again for an export that failed: it is queued as it was first asked."""
    KEEP_BOOKS.require(collective=export.collective, actor=actor)
    with transaction.atomic():
        updated = Export.objects.filter(pk=export.pk, status=ExportStatus.FAILED).update(
            status=ExportStatus.PENDING, progress=0, error="", finished_at=None, updated_at=timezone.now())
        if not updated:
            raise Conflict(_("Only a failed export can be asked for again."), "export_not_failed")
        audit_record(collective=export.collective, actor=actor, action="export.retried", target=export,
                     before={"status": ExportStatus.FAILED, "error": export.error},
                     after={"status": ExportStatus.PENDING})
        transaction.on_commit(lambda: _queue(export.pk))
    export.refresh_from_db()
    return export


def exports_resume_stale() -> int:
    """Queue again the exports a killed worker left running, and those whose queued task was lost."""
    stale = timezone.now() - STALE_AFTER
    ids = list(Export.objects.filter(Q(status=ExportStatus.RUNNING, updated_at__lt=stale)
                                     | Q(status=ExportStatus.PENDING, updated_at__lt=stale))
               .order_by("pk").values_list("pk", flat=True))
    for export_id in ids:
        _queue(export_id)
    return len(ids)


def _claim(export_id: int) -> bool:
    now = timezone.now()
    claimable = Q(status=ExportStatus.PENDING) | Q(status=ExportStatus.RUNNING, updated_at__lt=now - STALE_AFTER)
    # Claiming beats the heartbeat: a second run queued for the same stale export finds it taken.
    return bool(
        Export.objects.filter(claimable, pk=export_id).update(status=ExportStatus.RUNNING, progress=0, updated_at=now)
    )


@contextmanager
def progress_reporter(export_id: int) -> Iterator[Callable[[int], None]]:
    """A function recording the export's progress. It writes by a connection of its own: while COPY streams the
    rows, the export's connection can run nothing else. Committed at once, so the export's page sees it."""
    reporter = connections.create_connection(DEFAULT_DB_ALIAS)
    table = Export._meta.db_table

    def report(progress: int) -> None:
        with reporter.cursor() as cursor:
            cursor.execute(f'UPDATE "{table}" SET "progress" = %s, "updated_at" = %s WHERE "id" = %s',
                           [progress, timezone.now(), export_id])

    try:
        yield report
    finally:
        reporter.close()


def export_run(*, export_id: int) -> None:
    """Write an export's file. Claims it first, so a second run (or a redelivery) is a no-op."""
    if not _claim(export_id):
        return
    export = Export.objects.select_related("collective", "requested_by").get(pk=export_id)
    try:
        row_count = _write(export)
    except Exception as error:
        logger.exception("accounting: export %s failed", export_id)
        with transaction.atomic():
            Export.objects.filter(pk=export_id).update(
                status=ExportStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now(),
                updated_at=timezone.now(),
            )
            export_notify(export=export, ready=False)
        return
    now = timezone.now()
    with transaction.atomic():
        Export.objects.filter(pk=export_id).update(
            status=ExportStatus.READY, progress=100, file=export.file.name, row_count=row_count, finished_at=now,
            updated_at=now, expires_at=now + timedelta(days=settings.EXPORTS_KEEP_DAYS),
        )
        export.refresh_from_db()
        export_notify(export=export, ready=True)


@contextmanager
def planned_for_every_row() -> Iterator[None]:
    """PostgreSQL plans a server-side cursor for its first tenth of rows (cursor_tuple_fraction): an export reads
    every row of its cursors, and a plan for the whole result reads a million entries several times faster. Only
    for this connection, and only while the export runs (a worker keeps its connection for the next task)."""
    with connection.cursor() as cursor:
        cursor.execute("SET cursor_tuple_fraction = 1.0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET cursor_tuple_fraction")


def _write(export: Export) -> int:
    """Stream the exporter's rows into a temporary file, then store it; returns the row count."""
    exporter = REGISTRY[export.kind](collective=export.collective, params=export.params)
    writer_class = WRITERS[export.format]
    total = exporter.count()
    written = reported = 0
    beat = timezone.now()
    with (translation.override(export.collective.locale), planned_for_every_row(),
          tempfile.TemporaryFile() as stream, progress_reporter(export.pk) as report):
        writer = writer_class(stream, options={**export.params, "title": export.kind})
        writer.write_header(exporter.header())
        for rows in _written(exporter, writer, export):
            written += rows
            if written - reported >= PROGRESS_EVERY_ROWS or timezone.now() - beat > HEARTBEAT:
                report(min(99, written * 100 // total) if total else 0)
                reported, beat = written, timezone.now()
        writer.close()
        stream.seek(0)
        name = exporter.filename(writer_class.extension)
        if export.file:
            export.file.delete(save=False)
        # A run killed after storing its file, before recording it, left it at this very place: replace it, or the
        # export would keep a second copy that nothing records (nor purges).
        export.file.storage.delete(export.file.field.generate_filename(export, name))
        export.file.save(name, File(stream), save=False)
    return written


def _written(exporter: Exporter, writer: Writer, export: Export) -> Iterator[int]:
    """Write the rows, by COPY when the database can write them for this writer; yields how many as they go."""
    query = exporter.copy_query(export.format, {**export.params})
    if query is None:
        for row in exporter.rows():
            writer.write_row(row)
            yield 1
        return
    select, params = query
    with connection.cursor() as cursor, cursor.cursor.copy(writer.copy_statement(select), params) as copy:
        yield from writer.write_copied(copy)


def exports_purge_expired() -> int:
    """Delete the exports (and their files) kept past their expiry date."""
    deleted = 0
    for export in Export.objects.filter(expires_at__lt=timezone.now()).iterator():
        if export.file:
            export.file.delete(save=False)
        export.delete()
        deleted += 1
    return deleted


def chart_update(*, collective: Collective, actor: User, mapping: dict[str, tuple[str, str]]) -> None:
    """Set the account number and label of each ledger account kind given."""
    KEEP_BOOKS.require(collective=collective, actor=actor)
    before = {kind: list(value) for kind, value in chart_of(collective).items()}
    rows = []
    for kind, (number, label) in mapping.items():
        if kind not in AccountKind.values:
            raise DomainError(_("Unknown ledger account kind."), "unknown_account_kind", fields={kind: [kind]})
        row = AccountMapping(collective=collective, account_kind=kind, number=number.strip(), label=label.strip())
        try:
            row.full_clean(exclude=["collective"], validate_unique=False)
        except ValidationError as error:
            raise DomainError(_("Please correct the highlighted fields."), "invalid",
                              fields={kind: [m for messages in error.message_dict.values() for m in messages]},
                              ) from None
        rows.append(row)
    with transaction.atomic():
        for row in rows:
            AccountMapping.objects.update_or_create(
                collective=collective, account_kind=row.account_kind,
                defaults={"number": row.number, "label": row.label},
            )
        audit_record(collective=collective, actor=actor, action="accounting.chart_updated", target=collective,
                     before=before, after={kind: list(value) for kind, value in chart_of(collective).items()})


SETTINGS_FIELDS = ("siren", "fiscal_year_start_month", "journal_code", "journal_label")


def accounting_settings_update(*, collective: Collective, actor: User, **fields: Any) -> AccountingSettings:
    KEEP_BOOKS.require(collective=collective, actor=actor)
    current = accounting_settings_of(collective)
    before = {field: getattr(current, field) for field in SETTINGS_FIELDS}
    for field, value in fields.items():
        if field in SETTINGS_FIELDS:
            setattr(current, field, value)
    try:
        current.full_clean(exclude=["collective"], validate_unique=False)
    except ValidationError as error:
        raise DomainError(_("Please correct the highlighted fields."), "invalid", fields=error.message_dict) from None
    with transaction.atomic():
        current.save()
        audit_record(collective=collective, actor=actor, action="accounting.settings_updated", target=collective,
                     before=before, after={field: getattr(current, field) for field in SETTINGS_FIELDS})
    return current


def _ensure_period_settled(period: Period) -> None:
    """Refuse to lock a period whose money can still move: a grant not posted, or a payout not paid."""
    from budgets.models import Payout
    from budgets.selectors import payouts_unposted

    currency = period.collective.currency
    unposted = payouts_unposted(period=period).aggregate(count=Count("pk"), total=Sum("granted"))
    unpaid = (Payout.objects.of(period.collective_id).filter(period=period, paid_on__isnull=True, granted__gt=0)
              .aggregate(count=Count("pk"), total=Sum("granted"), payable=Sum("payable_amount")))
    missing, fields = [], {}
    if unposted["count"]:
        text = ngettext(
            "%(count)s grant (%(amount)s) is not posted in the ledger yet: run the period's closing again.",
            "%(count)s grants (%(amount)s) are not posted in the ledger yet: run the period's closing again.",
            unposted["count"],
        ) % {"count": unposted["count"], "amount": format_money(unposted["total"], currency)}
        missing.append(text)
        fields["unposted"] = [text]
    if unpaid["count"]:
        owed = unpaid["total"] - unpaid["payable"]
        text = ngettext(
            "%(count)s payout (%(amount)s, of which %(owed)s still owed) is not paid yet.",
            "%(count)s payouts (%(amount)s, of which %(owed)s still owed) are not paid yet.",
            unpaid["count"],
        ) % {"count": unpaid["count"], "amount": format_money(unpaid["total"], currency),
             "owed": format_money(owed, currency)}
        missing.append(text)
        fields["unpaid"] = [text]
    if missing:
        raise Conflict(_("This period cannot be locked until its money is settled: %(missing)s")
                       % {"missing": " ".join(missing)}, "period_not_settled", fields=fields)


def period_lock(*, period: Period, actor: User) -> Period:
    """Lock a closed, settled period (every grant posted, every payout paid): from now on no change
    may touch it, and nothing about its money is left to move (corrections go to an open period)."""
    ACCOUNTANT_ONLY.require(collective=period.collective, actor=actor)
    with transaction.atomic():
        period = Period.objects.select_for_update().select_related("collective", "budget").get(pk=period.pk)
        if period.locked_at:
            raise Conflict(_("This period is already locked."), "period_locked")
        if period.status != PeriodStatus.CLOSED:
            raise Conflict(_("Only a closed period can be locked."), "period_not_closed")
        _ensure_period_settled(period)
        period.locked_at = timezone.now()
        period.locked_by = actor
        period.save(update_fields=["locked_at", "locked_by"])
        audit_record(collective=period.collective, actor=actor, action="period.locked", target=period,
                     before={"locked_at": None}, after={"locked_at": period.locked_at.isoformat()})
    return period


def document_issue(*, collective: Collective, actor: User, kind: str, subject: str,
                   data: dict[str, Any]) -> IssuedDocument:
    """Freeze a document's data; the same data asked again returns the document already issued."""
    with transaction.atomic():
        # Issued documents are frozen (the application's database role may not update them, nor lock their rows):
        # two requests for the same subject queue on a lock of their own, the second then finds the first's.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [f"document:{collective.pk}:{kind}:{subject}"])
        latest = (IssuedDocument.objects.of(collective).filter(kind=kind, subject=subject)
                  .order_by("-issued_at", "-id").first())
        if latest is not None and latest.data == data:
            return latest
        document = IssuedDocument.objects.create(
            collective=collective, kind=kind, subject=subject, data=data, locale=collective.locale, issued_by=actor,
        )
        audit_record(collective=collective, actor=actor, action="document.issued", target=document,
                     after={"kind": kind, "subject": subject})
    return document
