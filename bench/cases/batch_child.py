"""A child process of the batch cases, so that a peak of memory is the work's own and not the bench's.

    python -m bench.cases.batch_child close <period id>    closes the period (period_close, as beat does)
    python -m bench.cases.batch_child export <export id>   writes the export (export_run, as the Celery task does)

Prints {"baseline_mb": resident memory just before the work, "peak_mb": the process's peak during the work} as JSON
on its last line.
DATABASE_URL names the database the parent seeded.
"""

import json
import os
import sys


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _resident_mb() -> float:
    """Resident memory now, after the peak is reset: Django's start peaks higher than a small work does, and would
    hide it (writing 5 to clear_refs resets the process's peak, VmHWM, to its resident memory)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status_mb("VmRSS")


def _close(period_id: int) -> float:
    from budgets.models import Period
    from contributions.closing import period_close

    period = Period.objects.select_related("budget__collective").get(pk=period_id)
    baseline = _resident_mb()
    period_close(period=period, actor=None)
    return baseline


def _export(export_id: int) -> float:
    from accounting.models import Export, ExportStatus
    from accounting.services import export_run

    Export.objects.get(pk=export_id)
    baseline = _resident_mb()
    export_run(export_id=export_id)
    export = Export.objects.get(pk=export_id)
    if export.status != ExportStatus.READY:
        raise RuntimeError(f"export {export_id} ended {export.status}: {export.error}")
    return baseline


def main(what: str, pk: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contrib_budget.settings")
    import django

    django.setup()
    from contrib_budget import scopes

    with scopes.every_collective():
        baseline = {"close": _close, "export": _export}[what](pk)
    peak = _status_mb("VmHWM")
    print(json.dumps({"baseline_mb": round(baseline, 1), "peak_mb": round(peak, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
