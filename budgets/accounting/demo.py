"""Demo data of the accounting area: La Fabrique's FEC settings, and its oldest closed period locked by Carol."""

from budgets.models import Period, PeriodStatus
from members.demo import DemoData

from . import services


def seed(data: DemoData) -> None:
    fabrique, carol = data.collectives["fabrique"], data.people["carol"]
    services.accounting_settings_update(collective=fabrique, actor=carol, siren="834512789",
                                        journal_code="BC", journal_label="Budgets contributifs")
    oldest_closed = Period.objects.of(fabrique).filter(status=PeriodStatus.CLOSED).order_by("ends_on", "id").first()
    if oldest_closed is not None:
        services.period_lock(period=oldest_closed, actor=carol)
