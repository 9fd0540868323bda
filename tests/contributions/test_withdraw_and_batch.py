"""Declarations that fit the task: no time × rate without time, the author's withdrawal, rates and times written
the reader's way, and reviewers validating several declarations at once (each still checked alone)."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from accounting.documents import period_statement_data
from budgets.fundings import funding_create
from budgets.models import Payout
from budgets.periods import period_for_date
from budgets.selectors import period_with_figures
from contributions import services
from contributions.closing import period_close
from contributions.models import Contribution, ContributionStatus
from members.models import AuditEvent, Membership
from members.selectors import waiting_items
from tests.conftest import MONDAY

pytestmark = pytest.mark.django_db


def url(collective, suffix=""):
    return f"/api/v1/collectives/{collective.slug}/contributions/{suffix}"


def page_client(user, language="en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def declare(author, collective, budget, rate=None, *, minutes=60, day=MONDAY, description="Permanence",
            **fields) -> Contribution:
    membership = Membership.objects.get(collective=collective, user=author)
    fields.setdefault("value_mode", "time_rate")
    return services.contribution_declare(collective=collective, membership=membership, declaration=services.Declaration(
        budget=budget, performed_on=day, description=description, minutes=minutes, rate_level=rate, **fields))


def reviewer(collective, user) -> Membership:
    return Membership.objects.get(collective=collective, user=user)


# 0 minutes


def test_time_times_rate_with_zero_minutes_is_refused_by_the_api_naming_the_field(api, member, collective, budget,
                                                                                   rate):
    response = api(member).post(url(collective), {
        "budget": budget.pk, "performed_on": str(MONDAY), "description": "Rien", "minutes": 0,
        "value_mode": "time_rate", "rate_level": rate.pk,
    }, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "zero_minutes" and list(body["fields"]) == ["minutes"]
    assert "0 minutes" in body["detail"]
    assert not Contribution.objects.exists()


def test_zero_hours_and_zero_minutes_on_the_form_show_the_error_under_the_time(member, collective, budget, rate):
    response = page_client(member).post(f"/c/{collective.slug}/contributions/new/", {
        "description": "Rien", "performed_on": str(MONDAY), "budget": budget.pk, "work": "", "hours": 0,
        "minutes": 0, "value_mode": "time_rate", "rate_level": rate.pk, "hourly_rate": "", "amount": "",
    })
    assert response.status_code == 400
    assert "0 minutes" in str(response.context["form"].errors["minutes"])
    assert not Contribution.objects.exists()


def test_an_amendment_to_zero_minutes_is_refused_too(api, member, collective, budget, rate):
    contribution = declare(member, collective, budget, rate)
    response = api(member).patch(url(collective, f"{contribution.pk}/"), {"minutes": 0}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "zero_minutes"
    contribution.refresh_from_db()
    assert contribution.minutes == 60


def test_a_fixed_price_or_an_amount_i_set_needs_no_time_and_pro_bono_stays_possible(api, member, collective, budget):
    for mode, amount in (("fixed_price", "300.00"), ("self_assessed", "0")):
        response = api(member).post(url(collective), {
            "budget": budget.pk, "performed_on": str(MONDAY), "description": "Prestation", "minutes": 0,
            "value_mode": mode, "amount": amount,
        }, format="json")
        assert response.status_code == 201, response.json()


# Withdrawal


def test_the_author_withdraws_a_pending_declaration_and_it_is_audited(api, member, coordinator, collective, budget,
                                                                      rate):
    contribution = declare(member, collective, budget, rate)
    response = api(member).post(url(collective, f"{contribution.pk}/withdraw/"))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "withdrawn"
    event = AuditEvent.objects.get(action="contribution.withdrawn", target_id=str(contribution.pk))
    assert event.actor == member and event.before["status"] == "pending" and event.after["status"] == "withdrawn"
    listed = api(coordinator).get(url(collective), {"status": "withdrawn"}).json()["results"]
    assert [c["id"] for c in listed] == [contribution.pk]


def test_nobody_but_the_author_withdraws(api, member, coordinator, contributor, collective, budget, rate):
    contribution = declare(member, collective, budget, rate)
    for user in (coordinator, contributor):
        response = api(user).post(url(collective, f"{contribution.pk}/withdraw/"))
        assert response.status_code == 403 and response.json()["code"] == "not_author"
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.PENDING


def test_a_decided_declaration_or_a_withdrawn_one_cannot_be_withdrawn(api, member, coordinator, collective, budget,
                                                                      rate):
    decided = declare(member, collective, budget, rate)
    services.contribution_validate(contribution=decided, membership=reviewer(collective, coordinator))
    response = api(member).post(url(collective, f"{decided.pk}/withdraw/"))
    assert response.status_code == 409 and response.json()["code"] == "already_decided"
    withdrawn = declare(member, collective, budget, rate, description="Autre")
    assert api(member).post(url(collective, f"{withdrawn.pk}/withdraw/")).status_code == 200
    again = api(member).post(url(collective, f"{withdrawn.pk}/withdraw/"))
    assert again.status_code == 409 and again.json()["code"] == "already_withdrawn"
    assert AuditEvent.objects.filter(action="contribution.withdrawn").count() == 1


def test_a_withdrawn_declaration_can_no_longer_be_validated_amended_or_reviewed(api, member, coordinator, collective,
                                                                                budget, rate):
    contribution = declare(member, collective, budget, rate)
    services.contribution_withdraw(contribution=contribution, actor=member)
    assert api(coordinator).post(url(collective, f"{contribution.pk}/validate/")).status_code == 409
    assert api(coordinator).post(url(collective, f"{contribution.pk}/reject/"), {"reason": "x"},
                                 format="json").status_code == 409
    assert api(member).patch(url(collective, f"{contribution.pk}/"), {"minutes": 30},
                             format="json").status_code == 409
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.WITHDRAWN


def test_withdrawing_in_a_closed_period_is_refused(api, member, collective, budget, rate, close_period):
    contribution = declare(member, collective, budget, rate)
    close_period(budget, MONDAY)
    response = api(member).post(url(collective, f"{contribution.pk}/withdraw/"))
    assert response.status_code == 409 and response.json()["code"] == "period_closed"


def _titles(user) -> list[str]:
    with translation.override("en"):
        return [item.title for item in waiting_items(user)]


def test_a_withdrawn_declaration_no_longer_waits_for_the_reviewers(member, coordinator, collective, budget, rate):
    contribution = declare(member, collective, budget, rate)
    assert any("1 declaration waits for your review" in title for title in _titles(coordinator))
    services.contribution_withdraw(contribution=contribution, actor=member)
    assert not any("waits for your review" in title for title in _titles(coordinator))


def test_a_closing_neither_counts_nor_grants_nor_carries_a_withdrawn_declaration(member, contributor, coordinator,
                                                                                collective, budget, rate):
    funding_create(budget=budget, actor=coordinator, source="Région", amount=Decimal("5000.00"), status="received",
                   received_on=MONDAY)
    kept = declare(member, collective, budget, rate, minutes=120)
    withdrawn = declare(contributor, collective, budget, rate, minutes=600, description="Retirée")
    second_thoughts = declare(member, collective, budget, rate, minutes=60, description="Retirée avant décision")
    services.contribution_validate(contribution=kept, membership=reviewer(collective, coordinator))
    period = period_for_date(budget=budget, day=MONDAY)
    assert period_with_figures(period).requested == Decimal("260.00")
    services.contribution_withdraw(contribution=withdrawn, actor=contributor)
    services.contribution_withdraw(contribution=second_thoughts, actor=member)
    assert period_with_figures(period).requested == Decimal("40.00")

    period_close(period=period, actor=coordinator)

    withdrawn.refresh_from_db()
    assert withdrawn.status == ContributionStatus.WITHDRAWN
    assert withdrawn.period_id == period.pk  # not carried to the next period, as a pending one would be
    assert not Payout.objects.filter(contribution=withdrawn).exists()
    assert list(period.payouts.values_list("contribution_id", flat=True)) == [kept.pk]
    closed = AuditEvent.objects.get(action="period.closed", target_id=str(period.pk))
    assert closed.after["granted"] == "40.00" and closed.after["carried"] == []
    statement = period_statement_data(period)
    assert statement["totals"]["requested"] == "40.00"
    assert statement["totals"]["count"] == 1 and statement["totals"]["withdrawn"] == 2


def test_the_author_withdraws_from_the_declaration_page_after_a_confirmation(member, coordinator, collective, budget,
                                                                            rate):
    contribution = declare(member, collective, budget, rate)
    detail = f"/c/{collective.slug}/contributions/{contribution.pk}/"
    html = page_client(member).get(detail).content.decode()
    assert 'id="withdraw-button"' in html and "will be withdrawn" in html and "data-confirm=" in html
    assert 'id="withdraw-button"' not in page_client(coordinator).get(detail).content.decode()
    assert page_client(coordinator).post(detail + "withdraw/").status_code == 403
    response = page_client(member).post(detail + "withdraw/", follow=True)
    assert "Withdrawn: your declaration no longer requests €20.00." in [str(m) for m in response.context["messages"]]
    assert response.context["contribution"].status == ContributionStatus.WITHDRAWN
    assert 'id="withdraw-button"' not in response.content.decode()
    assert "withdrew the declaration" in response.content.decode()


# The reader's way


def test_rates_are_written_the_readers_way_and_a_fixed_price_shows_no_time(member, collective, budget, rate):
    timed = declare(member, collective, budget, rate, minutes=90)
    fixed = declare(member, collective, budget, minutes=0, description="Affiche", value_mode="fixed_price",
                    amount=Decimal("150.00"))
    french = page_client(member, "fr")
    form = french.get(f"/c/{collective.slug}/contributions/new/").content.decode()
    assert "Standard (20,00\xa0€/h)" in form
    timed_page = french.get(f"/c/{collective.slug}/contributions/{timed.pk}/").content.decode()
    assert "20,00\xa0€/h" in timed_page and 'id="time-spent">1 h 30' in timed_page
    fixed_page = french.get(f"/c/{collective.slug}/contributions/{fixed.pk}/").content.decode()
    assert 'id="time-spent"' not in fixed_page and "0 min" not in fixed_page
    listing = french.get(f"/c/{collective.slug}/contributions/").content.decode()
    assert "0 min" not in listing
    english = page_client(member).get(f"/c/{collective.slug}/contributions/{timed.pk}/").content.decode()
    assert "€20.00/h" in english


# Validating several at once


def test_the_api_validates_several_and_says_per_id_what_happened(api, member, contributor, second_coordinator,
                                                                  coordinator, outsider, collective, budget, rate):
    first = declare(member, collective, budget, rate, minutes=60)
    second = declare(contributor, collective, budget, rate, minutes=120)
    own = declare(second_coordinator, collective, budget, rate, minutes=30, description="Coordination")
    decided = declare(member, collective, budget, rate, minutes=30, description="Déjà vue")
    services.contribution_validate(contribution=decided, membership=reviewer(collective, coordinator))
    elsewhere = 10**9
    response = api(second_coordinator).post(url(collective, "validate/"), {
        "ids": [first.pk, own.pk, second.pk, decided.pk, elsewhere, first.pk],
    }, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["validated"], body["approved"], body["skipped"]) == (2, 0, 3)
    results = {r["id"]: r for r in body["results"]}
    assert [r["id"] for r in body["results"]] == [first.pk, own.pk, second.pk, decided.pk, elsewhere]
    assert results[first.pk] == {"id": first.pk, "outcome": "validated", "code": "", "detail": "",
                                 "status": "validated"}
    assert results[own.pk]["outcome"] == "skipped" and results[own.pk]["code"] == "own_declaration"
    assert results[own.pk]["status"] == "pending"
    assert results[decided.pk]["code"] == "already_decided"
    assert results[elsewhere] == {"id": elsewhere, "outcome": "skipped", "code": "not_found",
                                  "detail": "No such declaration in this collective.", "status": None}
    statuses = dict(Contribution.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == ContributionStatus.VALIDATED
    assert statuses[own.pk] == ContributionStatus.PENDING
    assert AuditEvent.objects.filter(action="contribution.validated", actor=second_coordinator).count() == 2


def test_a_budget_needing_two_approvals_records_one_per_declaration(api, member, coordinator, collective, budget, rate):
    budget.required_approvals = 2
    budget.save()
    contribution = declare(member, collective, budget, rate)
    body = api(coordinator).post(url(collective, "validate/"), {"ids": [contribution.pk]}, format="json").json()
    assert (body["validated"], body["approved"], body["skipped"]) == (0, 1, 0)
    assert body["results"][0]["status"] == "pending"
    again = api(coordinator).post(url(collective, "validate/"), {"ids": [contribution.pk]}, format="json").json()
    assert again["results"][0]["code"] == "already_approved"


def test_only_coordinators_validate_several_and_a_batch_needs_ids(api, member, contributor, coordinator, outsider,
                                                                 collective, budget, rate):
    contribution = declare(member, collective, budget, rate)
    forbidden = api(contributor).post(url(collective, "validate/"), {"ids": [contribution.pk]}, format="json")
    assert forbidden.status_code == 403
    assert api(outsider).post(url(collective, "validate/"), {"ids": [contribution.pk]},
                              format="json").status_code == 404
    for data in ({}, {"ids": []}, {"ids": ["abc"]}, {"ids": list(range(1, services.MAX_BATCH + 2))}):
        response = api(coordinator).post(url(collective, "validate/"), data, format="json")
        assert response.status_code == 400, data
        assert set(response.json()) == {"detail", "code", "fields"} and "ids" in response.json()["fields"]
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.PENDING


def test_a_repeated_batch_with_the_same_idempotency_key_validates_once_and_answers_the_same(
    api, member, coordinator, collective, budget, rate
):
    contribution = declare(member, collective, budget, rate)
    client = api(coordinator)
    first = client.post(url(collective, "validate/"), {"ids": [contribution.pk]}, format="json",
                        HTTP_IDEMPOTENCY_KEY="batch-1")
    second = client.post(url(collective, "validate/"), {"ids": [contribution.pk]}, format="json",
                         HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.json() == second.json() and first.json()["validated"] == 1
    assert second["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="contribution.validated").count() == 1


def test_the_pending_list_offers_checkboxes_to_reviewers_only(member, coordinator, collective, budget, rate):
    contribution = declare(member, collective, budget, rate)
    html = page_client(coordinator).get(f"/c/{collective.slug}/contributions/?status=pending").content.decode()
    assert f'id="pick-{contribution.pk}"' in html and 'form="batch-validate"' in html
    assert 'data-confirm-many="Validate %(count)s declarations totalling %(total)s?"' in html
    member_html = page_client(member).get(f"/c/{collective.slug}/contributions/?status=pending").content.decode()
    assert "pick-" not in member_html and "batch-validate" not in member_html


def test_validating_several_from_the_list_goes_back_to_the_same_filters(member, coordinator, collective, budget,
                                                                       rate):
    contribution = declare(member, collective, budget, rate)
    response = page_client(coordinator).post(f"/c/{collective.slug}/contributions/validate/", {
        "ids": [contribution.pk], "query": "status=pending&next=https://example.com&page=1",
    })
    assert response.status_code == 302
    assert response["Location"] == f"/c/{collective.slug}/contributions/?status=pending&page=1"
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.VALIDATED


def test_the_batch_messages_name_the_count_the_total_and_each_skip_with_its_reason(member, contributor, coordinator,
                                                                                  collective, budget, rate):
    Membership.objects.filter(collective=collective, user=coordinator).update(
        roles=["coordinator", "member", "contributor"])
    first = declare(member, collective, budget, rate, minutes=60)
    second = declare(contributor, collective, budget, rate, minutes=90)
    own = declare(coordinator, collective, budget, rate, minutes=30, description="Ma coordination")
    response = page_client(coordinator).post(f"/c/{collective.slug}/contributions/validate/", {
        "ids": [first.pk, second.pk, own.pk], "query": "",
    }, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert "Validated 2 declarations: €50.00 in all." in shown
    assert "Skipped 1 declaration: “Ma coordination” by Alice: Nobody reviews their own declaration." in shown


def test_a_batch_with_nothing_ticked_says_so_and_changes_nothing(member, coordinator, collective, budget, rate):
    contribution = declare(member, collective, budget, rate)
    response = page_client(coordinator).post(f"/c/{collective.slug}/contributions/validate/", {"query": ""},
                                             follow=True)
    assert "Tick at least one declaration to validate." in [str(m) for m in response.context["messages"]]
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.PENDING
    assert page_client(member).post(f"/c/{collective.slug}/contributions/validate/",
                                    {"ids": [contribution.pk]}).status_code == 403


def test_a_batch_reaches_only_the_collectives_declarations(member, outsider, collective, budget, rate):
    contribution = declare(member, collective, budget, rate)
    assert page_client(outsider).post(f"/c/{collective.slug}/contributions/validate/",
                                      {"ids": [contribution.pk]}).status_code == 404
    assert page_client(outsider).post("/c/ailleurs/contributions/validate/",
                                      {"ids": [contribution.pk]}).status_code == 302
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.PENDING
