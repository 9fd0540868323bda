from datetime import timedelta
from decimal import Decimal

import pytest

from budgets.models import Budget, RateLevel
from contributions.models import Contribution, ContributionStatus
from members.models import AuditEvent
from tests.conftest import MONDAY
from tests.factories import CollectiveFactory

pytestmark = pytest.mark.django_db


def url(collective, suffix=""):
    return f"/api/v1/collectives/{collective.slug}/contributions/{suffix}"


def declare(api, user, collective, **fields):
    return api(user).post(url(collective), fields, format="json")


def base(budget, **overrides):
    return {"budget": budget.pk, "performed_on": str(MONDAY + timedelta(days=1)),
            "description": "Accueil du public", **overrides}


def test_time_rate_amount_is_minutes_times_the_rate_rounded_to_the_cent(api, member, collective, budget, rate):
    rate.hourly_rate = Decimal("17.33")
    rate.save()
    response = declare(api, member, collective, **base(budget, minutes=95, value_mode="time_rate",
                                                        rate_level=rate.pk))
    assert response.status_code == 201, response.json()
    body = response.json()
    # 95 × 17.33 / 60 = 27.4391…
    assert body["amount"] == "27.44"
    assert body["hourly_rate"] == "17.33"
    assert body["status"] == "pending"
    assert body["granted_amount"] is None
    assert body["author"] == {"id": member.pk, "name": "Bob"}
    assert body["comments_count"] == 0
    contribution = Contribution.objects.get(pk=body["id"])
    assert contribution.period.starts_on <= contribution.performed_on <= contribution.period.ends_on
    assert body["period"] == contribution.period_id


def test_hourly_rate_is_copied_so_a_later_grid_change_does_not_rewrite_history(api, member, collective, budget, rate):
    body = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk)).json()
    RateLevel.objects.filter(pk=rate.pk).update(hourly_rate=Decimal("99.00"))
    again = api(member).get(url(collective, f"{body['id']}/")).json()
    assert again["hourly_rate"] == "20.00" and again["amount"] == "20.00"


def test_self_assessed_and_fixed_price_keep_the_amount_given(api, member, collective, budget):
    for mode, amount in (("self_assessed", "42.50"), ("fixed_price", "300.00")):
        response = declare(api, member, collective, **base(budget, minutes=30, value_mode=mode, amount=amount))
        assert response.status_code == 201, response.json()
        assert response.json()["amount"] == amount
        assert response.json()["rate_level"] is None


def test_pro_bono_zero_is_allowed(api, member, collective, budget):
    response = declare(api, member, collective, **base(budget, minutes=120, value_mode="self_assessed", amount="0"))
    assert response.status_code == 201
    assert response.json()["amount"] == "0.00"


def test_custom_rate_only_where_the_budget_allows_it(api, member, collective, budget):
    refused = declare(api, member, collective, **base(budget, minutes=90, hourly_rate="30.00"))
    assert refused.status_code == 400
    assert refused.json()["code"] == "custom_rate_not_allowed"
    budget.allow_custom_rate = True
    budget.save()
    accepted = declare(api, member, collective, **base(budget, minutes=90, hourly_rate="30.00"))
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["amount"] == "45.00"


def test_envelope_and_task_of_the_budget(api, member, collective, budget, rate, task):
    response = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk, task=task.pk))
    assert response.status_code == 201, response.json()
    assert response.json()["envelope"] == task.envelope_id


def _assert_refused(response, field, before):
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["detail"] and body["code"]
    assert field in body["fields"], body
    assert Contribution.objects.count() == before


def test_negative_minutes_refused_with_nothing_saved(api, member, collective, budget, rate):
    _assert_refused(declare(api, member, collective, **base(budget, minutes=-5, rate_level=rate.pk)), "minutes", 0)


def test_amount_with_three_decimals_refused(api, member, collective, budget):
    response = declare(api, member, collective, **base(budget, value_mode="self_assessed", amount="12.345"))
    _assert_refused(response, "amount", 0)


def test_negative_amount_refused(api, member, collective, budget):
    response = declare(api, member, collective, **base(budget, value_mode="fixed_price", amount="-1.00"))
    _assert_refused(response, "amount", 0)


def test_absurd_amount_refused(api, member, collective, budget):
    response = declare(api, member, collective, **base(budget, value_mode="fixed_price", amount="1000000.01"))
    _assert_refused(response, "amount", 0)


def test_absurd_time_times_rate_refused(api, member, collective, budget, rate):
    rate.hourly_rate = Decimal("99999.00")
    rate.save()
    response = declare(api, member, collective, **base(budget, minutes=60 * 900, rate_level=rate.pk))
    _assert_refused(response, "minutes", 0)
    assert response.json()["code"] == "amount_too_large"


def test_date_in_a_closed_period_refused(api, member, collective, budget, rate, close_period):
    close_period(budget, MONDAY)
    response = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk))
    _assert_refused(response, "performed_on", 0)
    assert response.json()["code"] == "period_closed"


def test_the_closed_period_message_writes_its_dates_in_the_readers_language(api, member, collective, budget, rate,
                                                                            close_period):
    close_period(budget, MONDAY)
    response = api(member).post(url(collective), base(budget, minutes=60, rate_level=rate.pk), format="json",
                                headers={"accept-language": "fr"})
    assert "du 3 mars 2025 au 9 mars 2025 est close" in response.json()["detail"]


def test_date_before_the_budget_starts_refused(api, member, collective, budget, rate):
    response = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk,
                                                       performed_on=str(MONDAY - timedelta(days=1))))
    _assert_refused(response, "performed_on", 0)


def test_rate_level_of_another_budget_refused(api, member, collective, budget):
    other = Budget.objects.create(collective=collective, name="Autre", starts_on=MONDAY)
    foreign = RateLevel.objects.create(collective=collective, budget=other, name="X", hourly_rate=Decimal("10"))
    response = declare(api, member, collective, **base(budget, minutes=60, rate_level=foreign.pk))
    _assert_refused(response, "rate_level", 0)
    assert response.json()["code"] == "rate_level_of_another_budget"


def test_budget_of_another_collective_does_not_exist_here(api, member, collective):
    elsewhere = Budget.objects.create(collective=CollectiveFactory(), name="Ailleurs", starts_on=MONDAY)
    response = declare(api, member, collective, **base(elsewhere, value_mode="fixed_price", amount="10.00"))
    _assert_refused(response, "budget", 0)


@pytest.mark.parametrize("given", ["id as text", "not an id", "too large", "a boolean", "unknown id"])
def test_a_related_object_is_named_by_its_id_in_any_form_that_is_one(api, member, collective, budget, given):
    value = {"id as text": str(budget.pk), "not an id": "abc", "too large": 10**30, "a boolean": True,
             "unknown id": budget.pk + 1000}[given]
    response = declare(api, member, collective,
                       **{**base(budget, value_mode="fixed_price", amount="10.00"), "budget": value})
    if given == "id as text":
        assert response.status_code == 201, response.json()
        assert Contribution.objects.get().budget == budget
    else:
        _assert_refused(response, "budget", 0)


def test_time_rate_without_a_rate_level_refused(api, member, collective, budget):
    _assert_refused(declare(api, member, collective, **base(budget, minutes=60)), "rate_level", 0)


def test_only_contributors_declare(api, plain_member, coordinator, collective, budget):
    for user in (plain_member, coordinator):
        response = declare(api, user, collective, **base(budget, value_mode="fixed_price", amount="10.00"))
        assert response.status_code == 403
    assert Contribution.objects.count() == 0


def test_outsider_gets_404(api, outsider, member, collective, budget, rate):
    created = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk)).json()
    client = api(outsider)
    assert client.get(url(collective)).status_code == 404
    assert client.get(url(collective, f"{created['id']}/")).status_code == 404
    assert client.post(url(collective, f"{created['id']}/validate/")).status_code == 404
    assert declare(api, outsider, collective, **base(budget, value_mode="fixed_price", amount="1")).status_code == 404


def test_declaring_is_audited(api, member, collective, budget, rate):
    body = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk)).json()
    event = AuditEvent.objects.get(action="contribution.declared", target_id=str(body["id"]))
    assert event.actor == member and event.after["amount"] == "20.00"


def test_every_member_sees_every_declaration_and_filters_work(
    api, member, contributor, plain_member, collective, budget, rate
):
    mine = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk)).json()
    declare(api, contributor, collective, **base(budget, minutes=30, rate_level=rate.pk,
                                                 performed_on=str(MONDAY + timedelta(days=8))))
    listing = api(plain_member).get(url(collective)).json()
    assert listing["count"] == 2
    assert api(plain_member).get(url(collective), {"author": member.pk}).json()["count"] == 1
    assert api(plain_member).get(url(collective), {"period": mine["period"]}).json()["count"] == 1
    assert api(plain_member).get(url(collective), {"budget": budget.pk}).json()["count"] == 2
    assert api(plain_member).get(url(collective), {"status": "validated"}).json()["count"] == 0
    assert api(plain_member).get(url(collective), {"status": "nonsense"}).status_code == 400
    assert ContributionStatus.PENDING == listing["results"][0]["status"]


@pytest.mark.parametrize("state", [{"is_published": False}, {"is_done": True}], ids=["unpublished", "done"])
def test_a_new_declaration_on_an_unpublished_or_finished_task_is_refused(api, member, collective, budget, rate, task,
                                                                         state):
    for name, value in state.items():
        setattr(task, name, value)
    task.save()
    response = declare(api, member, collective, **base(budget, minutes=60, rate_level=rate.pk, task=task.pk))
    _assert_refused(response, "task", 0)
