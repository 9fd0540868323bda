from datetime import timedelta
from decimal import Decimal

import pytest

from budgets.models import PeriodStatus
from contributions.models import Approval, Comment, Contribution, ContributionStatus
from members.models import AuditEvent
from tests.conftest import MONDAY

pytestmark = pytest.mark.django_db


def url(collective, suffix=""):
    return f"/api/v1/collectives/{collective.slug}/contributions/{suffix}"


@pytest.fixture
def declared(api, member, collective, budget, rate):
    response = api(member).post(url(collective), {
        "budget": budget.pk, "performed_on": str(MONDAY), "description": "Permanence",
        "minutes": 120, "value_mode": "time_rate", "rate_level": rate.pk,
    }, format="json")
    assert response.status_code == 201, response.json()
    return Contribution.objects.get(pk=response.json()["id"])


def test_nobody_validates_their_own_declaration(api, second_coordinator, collective, budget, rate):
    own = api(second_coordinator).post(url(collective), {
        "budget": budget.pk, "performed_on": str(MONDAY), "description": "Coordination",
        "value_mode": "fixed_price", "amount": "100.00",
    }, format="json").json()
    for action, data in (("validate", {}), ("adjust", {"amount": "50.00", "reason": "x"}),
                         ("reject", {"reason": "x"})):
        response = api(second_coordinator).post(url(collective, f"{own['id']}/{action}/"), data, format="json")
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "own_declaration"
    assert Contribution.objects.get(pk=own["id"]).status == ContributionStatus.PENDING


def test_a_non_coordinator_cannot_validate_adjust_or_reject(api, contributor, plain_member, declared, collective):
    for user in (contributor, plain_member):
        for action in ("validate", "adjust", "reject"):
            response = api(user).post(url(collective, f"{declared.pk}/{action}/"),
                                      {"amount": "1.00", "reason": "x"}, format="json")
            assert response.status_code == 403
    declared.refresh_from_db()
    assert declared.status == ContributionStatus.PENDING and not declared.approvals.exists()


def test_validation_by_a_coordinator(api, coordinator, declared, collective):
    response = api(coordinator).post(url(collective, f"{declared.pk}/validate/"))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "validated"
    assert response.json()["validated_amount"] == "40.00"
    assert AuditEvent.objects.filter(action="contribution.validated", target_id=str(declared.pk),
                                     actor=coordinator).exists()
    again = api(coordinator).post(url(collective, f"{declared.pk}/validate/"))
    assert again.status_code == 409


def test_n_approvals_needed_from_distinct_coordinators(api, coordinator, second_coordinator, declared, collective,
                                                       budget):
    budget.required_approvals = 2
    budget.save()
    first = api(coordinator).post(url(collective, f"{declared.pk}/validate/"))
    assert first.json()["status"] == "pending"
    assert api(coordinator).post(url(collective, f"{declared.pk}/validate/")).status_code == 409
    assert Approval.objects.filter(contribution=declared).count() == 1
    assert AuditEvent.objects.filter(action="contribution.approved", target_id=str(declared.pk)).exists()
    second = api(second_coordinator).post(url(collective, f"{declared.pk}/validate/"))
    assert second.json()["status"] == "validated"


def test_adjust_needs_an_amount_and_a_reason_shown_to_everyone(api, coordinator, plain_member, declared, collective):
    missing = api(coordinator).post(url(collective, f"{declared.pk}/adjust/"), {"amount": "30.00"}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    above = api(coordinator).post(url(collective, f"{declared.pk}/adjust/"),
                                  {"amount": "40.01", "reason": "plus"}, format="json")
    assert above.status_code == 400 and above.json()["code"] == "above_request"
    response = api(coordinator).post(url(collective, f"{declared.pk}/adjust/"),
                                     {"amount": "30.00", "reason": "Une heure et demie suffisait"}, format="json")
    assert response.status_code == 200, response.json()
    seen = api(plain_member).get(url(collective, f"{declared.pk}/")).json()
    assert seen["status"] == "adjusted"
    assert seen["validated_amount"] == "30.00"
    assert seen["decision_reason"] == "Une heure et demie suffisait"
    assert AuditEvent.objects.filter(action="contribution.adjusted", target_id=str(declared.pk)).exists()


def test_reject_needs_a_reason(api, coordinator, declared, collective):
    missing = api(coordinator).post(url(collective, f"{declared.pk}/reject/"), {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    response = api(coordinator).post(url(collective, f"{declared.pk}/reject/"), {"reason": "Hors budget"},
                                     format="json")
    assert response.json()["status"] == "rejected"
    assert response.json()["validated_amount"] is None


def test_any_member_questions_and_the_author_replies(api, plain_member, member, declared, collective):
    response = api(plain_member).post(url(collective, f"{declared.pk}/question/"),
                                      {"comment": "Deux heures pour ouvrir ?"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "question"
    reply = api(member).post(url(collective, f"{declared.pk}/question/"), {"comment": "Et fermer."}, format="json")
    assert reply.json()["kind"] == "reply"
    assert api(plain_member).get(url(collective, f"{declared.pk}/")).json()["comments_count"] == 2
    assert AuditEvent.objects.filter(action="contribution.question", actor=plain_member).exists()
    empty = api(plain_member).post(url(collective, f"{declared.pk}/question/"), {"comment": " "}, format="json")
    assert empty.status_code == 400 and "comment" in empty.json()["fields"]


def test_only_the_author_amends(api, contributor, coordinator, declared, collective):
    for user in (contributor, coordinator):
        response = api(user).patch(url(collective, f"{declared.pk}/"), {"minutes": 60}, format="json")
        assert response.status_code == 403
    declared.refresh_from_db()
    assert declared.minutes == 120


def test_amending_recomputes_the_amount_and_withdraws_approvals(
    api, member, coordinator, declared, collective, budget
):
    budget.required_approvals = 2
    budget.save()
    api(coordinator).post(url(collective, f"{declared.pk}/validate/"))
    response = api(member).patch(url(collective, f"{declared.pk}/"), {"minutes": 90}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["amount"] == "30.00"
    assert not Approval.objects.filter(contribution=declared).exists()
    assert Comment.objects.filter(contribution=declared, kind="amendment").exists()
    event = AuditEvent.objects.get(action="contribution.amended", target_id=str(declared.pk))
    assert event.before["minutes"] == 120 and event.after["minutes"] == 90


def test_amending_into_another_period_moves_the_declaration(api, member, declared, collective):
    response = api(member).patch(url(collective, f"{declared.pk}/"),
                                 {"performed_on": str(MONDAY + timedelta(days=7))}, format="json")
    assert response.status_code == 200
    assert response.json()["period"] != declared.period_id


def test_no_amendment_once_decided(api, member, coordinator, declared, collective):
    api(coordinator).post(url(collective, f"{declared.pk}/validate/"))
    response = api(member).patch(url(collective, f"{declared.pk}/"), {"minutes": 30}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_decided"


def test_bad_amendment_changes_nothing(api, member, declared, collective):
    response = api(member).patch(url(collective, f"{declared.pk}/"),
                                 {"value_mode": "self_assessed", "amount": "10.001"}, format="json")
    assert response.status_code == 400
    declared.refresh_from_db()
    assert declared.value_mode == "time_rate" and declared.amount == Decimal("40.00")


def test_nothing_touches_a_closed_period(api, member, coordinator, plain_member, declared, collective):
    declared.period.status = PeriodStatus.CLOSED
    declared.period.save(update_fields=["status"])
    attempts = [
        api(member).patch(url(collective, f"{declared.pk}/"), {"minutes": 30}, format="json"),
        api(plain_member).post(url(collective, f"{declared.pk}/question/"), {"comment": "?"}, format="json"),
        api(coordinator).post(url(collective, f"{declared.pk}/validate/")),
        api(coordinator).post(url(collective, f"{declared.pk}/adjust/"), {"amount": "1.00", "reason": "x"},
                              format="json"),
        api(coordinator).post(url(collective, f"{declared.pk}/reject/"), {"reason": "x"}, format="json"),
    ]
    assert [r.status_code for r in attempts] == [409] * 5
    assert {r.json()["code"] for r in attempts} == {"period_closed"}
    declared.refresh_from_db()
    assert declared.status == ContributionStatus.PENDING and declared.minutes == 120
    assert not declared.comments.exists()


def test_amending_into_a_closed_period_refused(api, member, declared, collective, budget, close_period):
    close_period(budget, MONDAY + timedelta(days=7))
    response = api(member).patch(url(collective, f"{declared.pk}/"),
                                 {"performed_on": str(MONDAY + timedelta(days=7))}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "period_closed"
    declared.refresh_from_db()
    assert declared.performed_on == MONDAY
