"""A declaration holds its period's lock for one round trip (contributions.services.declaring): declarations made
at once are each counted once, and one that meets a closing once it holds the lock writes nothing, and keeps no
file (a period that the accountant locks is closed already)."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections

from budgets.models import Period, PeriodStatus
from contrib_budget.errors import DomainError
from contributions.demand import demand_total_violations
from contributions.models import Contribution, ValueMode
from contributions.services import Declaration, contribution_declare, declaring
from members.models import AuditEvent, Membership
from tests.budgets.helpers import make_budget, period_at, person
from tests.files import pdf_bytes
from tests.threads import run_concurrently

D = Decimal


def _declare(budget, author, amount: str = "10.00", attachment=None) -> Contribution:
    return contribution_declare(
        collective=budget.collective, membership=Membership.objects.get(collective=budget.collective, user=author),
        declaration=Declaration(budget=budget, performed_on=budget.starts_on, description="Permanence", minutes=0,
                                value_mode=ValueMode.SELF_ASSESSED, amount=D(amount)), attachment=attachment)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_twenty_people_declaring_at_once_in_one_period_are_each_counted_once(collective, coordinator):
    budget = make_budget(collective, coordinator)
    people = [person(collective, n) for n in range(20)]

    def declare(index: int) -> int:
        close_old_connections()
        return _declare(budget, people[index], f"{index + 1}.00").pk

    ids, errors = run_concurrently(declare, len(people))
    assert errors == []
    assert sorted(Contribution.objects.values_list("pk", flat=True)) == sorted(ids)
    period = period_at(budget, 0)
    assert (period.requested_total, period.claim_count) == (D(sum(range(1, 21))), 20)
    assert AuditEvent.objects.filter(action="contribution.declared").count() == 20
    assert demand_total_violations() == []


@pytest.mark.django_db
def test_a_declaration_whose_period_closes_before_it_holds_the_lock_writes_nothing(collective, coordinator,
                                                                                   monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    budget = make_budget(collective, coordinator)
    author = person(collective, 1)
    found_open = declaring._period_to_declare_in

    def closed_once_found(**where) -> Period:
        period = found_open(**where)
        Period.objects.filter(pk=period.pk).update(status=PeriodStatus.CLOSED)  # a closing commits meanwhile
        return period

    monkeypatch.setattr(declaring, "_period_to_declare_in", closed_once_found)
    with pytest.raises(DomainError) as raised:
        _declare(budget, author, attachment=SimpleUploadedFile("facture.pdf", pdf_bytes(),
                                                               content_type="application/pdf"))
    assert raised.value.code == "period_closed"
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == [], "the attachment's file stayed behind"
    assert not Contribution.objects.exists()
    assert not AuditEvent.objects.filter(action="contribution.declared").exists()
    assert period_at(budget, 0).claim_count == 0
