from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgets import grants
from budgets.grants import Request, grants_compute
from budgets.ledger_audit import books_violations
from budgets.models import Funding, LedgerTransaction, Payout, PeriodStatus
from contrib_budget.errors import Conflict, DomainError
from contributions.closing import period_close
from contributions.tasks import close_due_periods
from tests.factories import CollectiveFactory, MembershipFactory
from tests.threads import run_concurrently

from .helpers import declare, make_budget, period_at, person

cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


@given(requests=st.lists(cents, min_size=1, max_size=12), available=cents, rotation=st.integers(0, 50),
       policy=st.sampled_from(["pro_rata", "services_first"]), fixed=st.lists(st.booleans(), min_size=12, max_size=12))
def test_grants_never_exceed_requests_and_sum_to_the_money_or_the_requests(requests, available, rotation, policy,
                                                                         fixed):
    asked = [Request(i, amount, fixed[i]) for i, amount in enumerate(requests)]
    grants = grants_compute(requests=asked, available=available, policy=policy, rotation=rotation)
    assert all(Decimal(0) <= g.granted <= g.requested for g in grants)
    assert sum(g.granted for g in grants) == min(available, sum(requests))


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(st.integers(min_value=0, max_value=200_000), min_size=1, max_size=6),
       available=st.integers(min_value=0, max_value=300_000))
def test_closing_any_requests_keeps_the_ledger_balanced(coordinator, requests, available):
    collective = CollectiveFactory()
    MembershipFactory(collective=collective, user=coordinator, roles=["coordinator"])
    budget = make_budget(collective, coordinator, amount_per_period=str(Decimal(available) / 100),
                         received="2000.00", pledged="1000.00")
    for amount in requests:
        declare(budget, MembershipFactory(collective=collective).user, str(Decimal(amount) / 100))
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    granted = sum(p.granted for p in Payout.objects.filter(period=period))
    assert granted == min(period.available, sum(Decimal(a) / 100 for a in requests))
    assert books_violations(collective) == []


@pytest.mark.django_db
def test_services_first_pays_agreed_services_then_shares_the_rest(collective, coordinator):
    budget = make_budget(collective, coordinator, overspend_policy="services_first")
    service = declare(budget, person(collective, 1), "600.00", mode="fixed_price")
    free_a = declare(budget, person(collective, 2), "600.00")
    free_b = declare(budget, person(collective, 3), "200.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    granted = {p.contribution_id: p for p in Payout.objects.all()}
    assert granted[service.pk].granted == Decimal("600.00")
    assert granted[service.pk].explanation_code == "services_first_full"
    assert (granted[free_a.pk].granted, granted[free_b.pk].granted) == (Decimal("300.00"), Decimal("100.00"))
    assert granted[free_a.pk].explanation_params["ratio"] == "50.00"


@pytest.mark.django_db
def test_services_first_scales_services_when_even_they_do_not_fit(collective, coordinator):
    budget = make_budget(collective, coordinator, overspend_policy="services_first")
    declare(budget, person(collective, 1), "1500.00", mode="fixed_price")
    declare(budget, person(collective, 2), "500.00", mode="fixed_price")
    free = declare(budget, person(collective, 3), "100.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    assert sorted(p.granted for p in Payout.objects.all()) == [Decimal("0.00"), Decimal("250.00"), Decimal("750.00")]
    assert Payout.objects.get(contribution=free).explanation_code == "services_first_nothing_left"


@pytest.mark.django_db
def test_hold_flags_a_deficit_and_closes_on_the_coordinators_amounts(collective, coordinator):
    budget = make_budget(collective, coordinator, overspend_policy="hold")
    a = declare(budget, person(collective, 1), "900.00")
    b = declare(budget, person(collective, 2), "600.00")
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    assert (period.status, period.available) == (PeriodStatus.DEFICIT, Decimal("1000.00"))
    assert not Payout.objects.exists() and not LedgerTransaction.objects.filter(kind="grant").exists()
    with pytest.raises(Conflict):
        period_close(period=period, actor=coordinator)
    with pytest.raises(DomainError):
        period_close(period=period, actor=coordinator,
                     decision={"kind": "amounts", "amounts": {str(a.pk): "700.00", str(b.pk): "400.00"}})
    period = period_close(period=period, actor=coordinator, decision={
        "kind": "amounts", "amounts": {str(a.pk): "600.00", str(b.pk): "400.00"}, "note": "Vu en réunion."})
    assert period.status == PeriodStatus.CLOSED
    assert {p.contribution_id: p.granted for p in Payout.objects.all()} == {a.pk: Decimal("600.00"),
                                                                            b.pk: Decimal("400.00")}
    assert period.decision["kind"] == "amounts"


@pytest.mark.django_db
def test_hold_decided_pro_rata_or_by_a_top_up(collective, coordinator):
    budget = make_budget(collective, coordinator, overspend_policy="hold")
    declare(budget, person(collective, 1), "1500.00")
    first = period_close(period=period_at(budget, 0), actor=coordinator)
    first = period_close(period=first, actor=coordinator, decision={"kind": "pro_rata"})
    assert Payout.objects.get(period=first).explanation_code == "decision_pro_rata"
    assert Payout.objects.get(period=first).granted == Decimal("1000.00")
    declare(budget, person(collective, 2), "1300.00", day=period_at(budget, 1).starts_on)
    second = period_close(period=period_at(budget, 1), actor=coordinator)
    assert second.status == PeriodStatus.DEFICIT
    second = period_close(period=second, actor=coordinator, decision={"kind": "top_up", "source": "Réserve"})
    assert Payout.objects.get(period=second).granted == Decimal("1300.00")
    assert Funding.objects.get(source="Réserve").amount == Decimal("300.00")
    assert books_violations(collective) == []


@pytest.mark.django_db
def test_a_close_interrupted_between_grants_is_finished_by_the_next_run(collective, coordinator, monkeypatch,
                                                                        settings):
    budget = make_budget(collective, coordinator)
    for n in range(4):
        declare(budget, person(collective, n), "100.00")
    # Grants are posted two at a time here, each set committed on its own: the worker dies during the second set.
    settings.POSTINGS_PER_TRANSACTION = 2
    real_post, sets = grants.transactions_post_many, []

    def crash_on_the_second_set(**kwargs):
        sets.append([posting.idempotency_key for posting in kwargs["postings"]])
        if len(sets) > 1:
            raise RuntimeError("worker killed")
        return real_post(**kwargs)

    monkeypatch.setattr(grants, "transactions_post_many", crash_on_the_second_set)
    with pytest.raises(RuntimeError):
        period_close(period=period_at(budget, 0), actor=coordinator)
    assert LedgerTransaction.objects.filter(kind="grant").count() == 2
    assert Payout.objects.filter(grant_transaction__isnull=False).count() == 2
    monkeypatch.setattr(grants, "transactions_post_many", real_post)
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    assert period.status == PeriodStatus.CLOSED
    assert LedgerTransaction.objects.filter(kind="grant").count() == 4
    assert {p.payable_amount for p in Payout.objects.all()} == {Decimal("100.00")}
    assert books_violations(collective) == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_closes_post_one_set_of_transactions(collective, coordinator):
    budget = make_budget(collective, coordinator)
    for n in range(3):
        declare(budget, person(collective, n), "500.00")
    period = period_at(budget, 0)
    results, errors = run_concurrently(lambda i: period_close(period=period, actor=coordinator).status, 2)
    assert errors == [] and results == [PeriodStatus.CLOSED] * 2
    assert LedgerTransaction.objects.filter(kind="grant").count() == 3
    assert Payout.objects.count() == 3
    assert sum(p.granted for p in Payout.objects.all()) == Decimal("1000.00")
    assert books_violations(collective) == []


@pytest.mark.django_db
def test_beat_task_closes_due_periods_once(collective, coordinator):
    today = date.today()
    budget = make_budget(collective, coordinator, starts_on=today - timedelta(days=21), ends_on=None,
                         auto_close_after_days=3)
    declare(budget, person(collective, 1), "100.00", day=budget.starts_on)
    assert close_due_periods() == 2
    assert [p.status for p in budget.periods.order_by("index")][:3] == ["closed", "closed", "open"]
    before = LedgerTransaction.objects.count()
    assert close_due_periods() == 0
    assert LedgerTransaction.objects.count() == before


@pytest.mark.django_db
def test_period_list_queries_do_not_grow_with_declarations(api, collective, coordinator,
                                                           django_assert_max_num_queries):
    budget = make_budget(collective, coordinator)
    client = api(coordinator)
    url = f"/api/v1/collectives/la-fabrique/budgets/{budget.pk}/periods/"
    declare(budget, person(collective, 1), "10.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    with django_assert_max_num_queries(15) as few:
        client.get(url)
    people = [person(collective, n) for n in range(2, 7)]
    for n in range(40):
        declare(budget, people[n % 5], "10.00", day=period_at(budget, 1 + n % 3).starts_on)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_a_refused_decision_writes_its_amounts_as_money_in_the_readers_language(collective, coordinator):
    from django.utils import translation

    budget = make_budget(collective, coordinator, overspend_policy="hold")
    a = declare(budget, person(collective, 1), "1500.00")
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    with translation.override("fr"), pytest.raises(DomainError) as refused:
        period_close(period=period, actor=coordinator, decision={"kind": "amounts", "amounts": {str(a.pk): "1200.00"}})
    assert "1\u202f000,00\u00a0€" in refused.value.message


@pytest.mark.django_db
def test_a_decision_for_a_period_not_in_deficit_is_refused_not_ignored(api, collective, coordinator):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "100.00")
    period = period_at(budget, 0)
    with pytest.raises(DomainError) as refused:
        period_close(period=period, actor=coordinator, decision={"kind": "pro_rata"})
    assert refused.value.code == "no_deficit" and "decision" in refused.value.fields
    response = api(coordinator).post(f"/api/v1/collectives/{collective.slug}/periods/{period.pk}/close/",
                                     {"decision": {"kind": "pro_rata"}}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "no_deficit"
    period.refresh_from_db()
    assert period.status == PeriodStatus.OPEN and not Payout.objects.exists()
