"""Celery tasks of the accounting area: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def run_export(export_id: int) -> None:
    services.export_run(export_id=export_id)


@shared_task
def purge_expired_exports() -> int:
    return services.exports_purge_expired()


@shared_task
def resume_stale_exports() -> int:
    """Beat, every minute: exports a killed worker left running are finished by another."""
    return services.exports_resume_stale()
