"""Recurring rounds from templates: saving a round's rules, beat making each occurrence's round once (even twice at
once), the pool paying the envelopes, participants by role, and buckets carried over (issue 14)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from budgets.ledger import account_get_or_create, transaction_post
from budgets.ledger_audit import ledger_violations
from budgets.models import AccountKind
from cobudget import selectors, services, tasks
from cobudget.models import Bucket, BucketStatus, Round, RoundTemplate, Wallet
from cobudget.services.recurring import add_months, recurring_rounds_run
from contrib_budget.errors import DomainError
from members.audit import AuditEvent
from members.models import Role
from members.notifications.models import Notification
from tests.factories import MembershipFactory, UserFactory
from tests.threads import run_concurrently

D = Decimal


def fill_pool(collective, amount) -> None:
    source = account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="test:pool-source",
                                   name="Source")
    transaction_post(collective=collective, kind="test_pool", memo="pool",
                     legs=[(source, -D(amount)), (services.pool_account(collective), D(amount))])


def refused(code, call, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


@pytest.fixture
def source(make_round, people):
    """A closed-round-to-be: 50.00 per participant, approval needed, guidelines; six participants."""
    return make_round(participants=people, envelope_amount=D("50.00"), guidelines="Local and open.",
                      bucket_approval_required=True, max_per_member_per_bucket=D("40.00"))


@pytest.fixture
def template(source, coordinator):
    return services.round_template_save(round=source, actor=coordinator, name="Monthly", schedule="monthly",
                                        next_occurrence=timezone.localdate())


def test_a_template_keeps_the_rounds_rules_not_its_calendar_nor_its_members(source, template, coordinator):
    rules = template.rules
    assert rules["envelope_amount"] == "50.00" and rules["guidelines"] == "Local and open."
    assert rules["bucket_approval_required"] is True and rules["max_per_member_per_bucket"] == "40.00"
    assert not {"name", "funding_closes_at", "manual_envelopes", "proposals_open_at"} & set(rules)
    assert template.participant_roles == ["member"] and template.schedule == "monthly"
    assert template.source_round == source
    source.refresh_from_db()
    assert source.template == template and source.occurrence is None
    event = AuditEvent.objects.get(action="cobudget.round_template_saved")
    assert event.after["schedule"] == "monthly"


def test_only_coordinators_save_and_bad_input_saves_nothing(source, member, coordinator, english):
    refused("not_coordinator", services.round_template_save, round=source, actor=member, name="T")
    refused("name", services.round_template_save, round=source, actor=coordinator, name="  ")
    refused("schedule", services.round_template_save, round=source, actor=coordinator, name="T", schedule="weekly")
    refused("funding_days", services.round_template_save, round=source, actor=coordinator, name="T",
            funding_days=0)
    refused("participant_roles", services.round_template_save, round=source, actor=coordinator, name="T",
            participant_roles=["boss"])
    refused("next_occurrence_past", services.round_template_save, round=source, actor=coordinator, name="T",
            schedule="monthly", next_occurrence=date(2020, 1, 1))
    assert not RoundTemplate.objects.exists()


def test_a_manual_envelopes_round_cannot_become_a_template(make_round, coordinator, member, english):
    round = make_round(open=False, envelope_policy="manual", manual_envelopes={str(member.pk): "10.00"})
    error = refused("manual_envelopes", services.round_template_save, round=round, actor=coordinator, name="T")
    assert "set per member" in error.message


def test_a_schedule_without_a_date_takes_the_next_one_after_today(source, coordinator):
    template = services.round_template_save(round=source, actor=coordinator, name="Q", schedule="quarterly")
    assert template.next_occurrence == add_months(timezone.localdate(), 3)
    template = services.round_template_update(template=template, actor=coordinator, schedule="yearly",
                                              next_occurrence=None)
    assert template.next_occurrence == add_months(timezone.localdate(), 12)


def test_beat_twice_makes_one_round_opened_from_the_pool(collective, template, people, english):
    fill_pool(collective, "1000.00")
    today = timezone.localdate()
    first = recurring_rounds_run(today=today)
    second = recurring_rounds_run(today=today)
    assert len(first) == 1 and second == []
    round = Round.objects.get(pk=first[0])
    assert round.template == template and round.occurrence == today
    assert round.status == "open" and round.funded_from_pool
    assert round.name == f"Monthly {today.strftime('%B %Y')}"
    assert round.guidelines == "Local and open." and round.bucket_approval_required
    assert Wallet.objects.filter(round=round).count() == 6
    assert selectors.pool_balance(collective) == D("700.00")  # six envelopes of 50.00
    assert ledger_violations(collective) == []
    template.refresh_from_db()
    assert template.next_occurrence == add_months(today, 1)
    # The participants are told the round is open.
    assert Notification.objects.filter(kind="round.opened", params__round=round.name).count() == 6
    # Through the Celery task too: nothing more.
    assert tasks.run_recurring_rounds() == []
    assert Round.objects.filter(template=template, occurrence__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_beat_running_twice_at_once_makes_one_round(collective, template):
    fill_pool(collective, "1000.00")
    today = timezone.localdate()
    results, errors = run_concurrently(lambda _i: recurring_rounds_run(today=today), 4)
    assert errors == []
    assert sorted(len(made) for made in results) == [0, 0, 0, 1]
    assert Round.objects.filter(template=template, occurrence=today).count() == 1
    assert selectors.pool_balance(collective) == D("700.00")


@pytest.mark.django_db(transaction=True)
def test_making_the_same_occurrence_twice_at_once_gives_one_round(collective, template, coordinator):
    fill_pool(collective, "1000.00")
    day = timezone.localdate() + timedelta(days=3)
    results, errors = run_concurrently(
        lambda _i: services.round_from_template(template=template, occurrence=day, actor=coordinator), 4)
    assert errors == []
    assert len({round.pk for round, _made in results}) == 1
    assert sorted(made for _round, made in results) == [False, False, False, True]


@pytest.mark.parametrize(("schedule", "months"), [("monthly", 1), ("quarterly", 3), ("yearly", 12)])
def test_the_next_date_moves_on_by_the_schedule(collective, source, coordinator, schedule, months):
    fill_pool(collective, "1000.00")
    start = timezone.localdate()
    template = services.round_template_save(round=source, actor=coordinator, name="T", schedule=schedule,
                                            next_occurrence=start)
    recurring_rounds_run(today=start)
    template.refresh_from_db()
    assert template.next_occurrence == add_months(start, months)
    assert recurring_rounds_run(today=start + timedelta(days=1)) == []  # not due yet


def test_months_are_added_to_the_last_day_of_shorter_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_a_template_without_a_schedule_is_never_run_by_beat(collective, source, coordinator):
    fill_pool(collective, "1000.00")
    services.round_template_save(round=source, actor=coordinator, name="By hand")
    assert recurring_rounds_run(today=timezone.localdate() + timedelta(days=800)) == []


def test_participants_are_the_holders_of_the_templates_roles_now(collective, source, coordinator, people):
    fill_pool(collective, "1000.00")
    contributor = MembershipFactory(collective=collective, user=UserFactory(email="zoe@example.org", name="Zoe"),
                                    roles=[Role.CONTRIBUTOR.value]).user
    template = services.round_template_save(round=source, actor=coordinator, name="T",
                                            participant_roles=["contributor", "coordinator"])
    round, made = services.round_from_template(template=template, occurrence=timezone.localdate(),
                                               actor=coordinator)
    assert made and round.status == "open"
    # Bob (the `member` fixture) is a contributor too.
    assert set(Wallet.objects.filter(round=round).values_list("user_id", flat=True)) == {
        contributor.pk, coordinator.pk, people[1].pk}


def test_a_pool_too_small_leaves_the_round_in_draft_and_tells_the_coordinators(collective, template, coordinator,
                                                                               english):
    other = MembershipFactory(collective=collective, user=UserFactory(email="olga@example.org", name="Olga"),
                              roles=[Role.COORDINATOR.value]).user
    fill_pool(collective, "100.00")
    made = recurring_rounds_run(today=timezone.localdate())
    round = Round.objects.get(pk=made[0])
    assert round.status == "draft" and not Wallet.objects.filter(round=round).exists()
    assert selectors.pool_balance(collective) == D("100.00")
    told = Notification.objects.filter(kind="round.recurring_pool_short")
    assert set(told.values_list("recipient_id", flat=True)) == {coordinator.pk, other.pk}
    assert told.first().params["total"] == "300.00" and told.first().params["pool"] == "100.00"
    template.refresh_from_db()
    assert template.next_occurrence > timezone.localdate()  # beat does not retry it every hour
    assert recurring_rounds_run(today=timezone.localdate()) == []


def test_one_failing_template_does_not_stop_the_others(collective, source, coordinator, make_round, caplog):
    fill_pool(collective, "1000.00")
    today = timezone.localdate()
    good = services.round_template_save(round=source, actor=coordinator, name="Good", schedule="monthly",
                                        next_occurrence=today)
    broken = services.round_template_save(round=make_round(name="Other"), actor=coordinator, name="Broken",
                                          schedule="monthly", next_occurrence=today)
    RoundTemplate.objects.filter(pk=broken.pk).update(rules={"envelope_policy": "nonsense"})
    made = recurring_rounds_run(today=today)
    assert [Round.objects.get(pk=pk).template_id for pk in made] == [good.pk]
    assert "could not be made" in caplog.text
    broken.refresh_from_db()
    assert broken.next_occurrence == today  # tried again next run


def _close_with(round, coordinator, make_bucket, member, people):
    """Four buckets in `round`, each kept for the next round: one funded, one unfunded with two lines and two
    carriers, one withdrawn, one unfunded; the round then closes."""
    funded = make_bucket(round, by=member, min_goal="40.00", title="Funded")
    unfunded = services.bucket_create(
        round=round, actor=member, title="Garden", description="Boxes on the roof", carriers=[people[2]],
        lines=[{"description": "Boxes", "min_amount": "300.00", "max_amount": "350.00"},
               {"description": "Soil", "min_amount": "80.00"}])
    unfunded = services.bucket_propose(bucket=unfunded, actor=member)
    withdrawn = make_bucket(round, by=member, title="Withdrawn")
    not_kept = make_bucket(round, by=member, title="Not kept", min_goal="900.00")
    for bucket in (funded, unfunded, withdrawn, not_kept):
        services.bucket_approve(bucket=bucket, actor=coordinator)
    for bucket in (funded, unfunded, withdrawn):
        services.bucket_carry_over(bucket=bucket, actor=member, keep=True)
    services.allocation_create(bucket=funded, actor=member, amount="40.00")
    services.allocation_create(bucket=unfunded, actor=people[2], amount="10.00")
    services.bucket_cancel(bucket=withdrawn, actor=member)
    services.round_close(round=round, actor=coordinator)
    return funded, unfunded, withdrawn, not_kept


def test_only_kept_unfunded_buckets_are_carried_over_with_lines_and_carriers_once(
        collective, source, template, coordinator, make_bucket, member, people):
    fill_pool(collective, "1000.00")
    funded, unfunded, withdrawn, not_kept = _close_with(source, coordinator, make_bucket, member, people)
    assert Bucket.objects.get(pk=unfunded.pk).status == BucketStatus.UNFUNDED
    round, _made = services.round_from_template(template=template, occurrence=timezone.localdate(),
                                                actor=coordinator)
    copy = Bucket.objects.get(round=round)
    assert copy.carried_from_id == unfunded.pk and copy.title == "Garden" and copy.description == "Boxes on the roof"
    assert copy.status == BucketStatus.PROPOSED  # the round needs approval
    assert copy.created_by == member
    assert set(copy.carriers.values_list("pk", flat=True)) == {member.pk, people[2].pk}
    assert [(line.description, line.min_amount, line.max_amount) for line in copy.lines.order_by("id")] == [
        ("Boxes", D("300.00"), D("350.00")), ("Soil", D("80.00"), None)]
    assert (copy.min_goal, copy.max_goal) == (D("380.00"), D("430.00"))
    assert AuditEvent.objects.filter(action="cobudget.bucket_carried_over").count() == 1
    # The next occurrence carries nothing again from the same round; and the toggle is closed on the old round.
    later, _made = services.round_from_template(template=template, occurrence=timezone.localdate() + timedelta(1),
                                                actor=coordinator)
    assert not Bucket.objects.filter(round=later).exists()
    refused("next_round_made", services.bucket_carry_over, bucket=not_kept, actor=member, keep=True)


def test_carry_over_is_for_carriers_and_coordinators_of_a_templated_round(make_round, make_bucket, member, people,
                                                                          coordinator, english):
    plain = make_round(name="Plain")
    bucket = make_bucket(plain, by=member)
    refused("not_recurring", services.bucket_carry_over, bucket=bucket, actor=member, keep=True)
    services.round_template_save(round=plain, actor=coordinator, name="Now templated")
    refused("not_carrier", services.bucket_carry_over, bucket=bucket, actor=people[3], keep=True)
    assert services.bucket_carry_over(bucket=bucket, actor=coordinator, keep=True).carry_over is True
    assert services.bucket_carry_over(bucket=bucket, actor=member, keep=False).carry_over is False
    refused("invalid", services.bucket_carry_over, bucket=bucket, actor=member, keep="yes")
    assert AuditEvent.objects.filter(action="cobudget.bucket_carry_over").count() == 2


def test_an_occurrence_whose_funding_has_ended_is_refused(template, coordinator, english):
    error = refused("occurrence_past", services.round_from_template, template=template,
                    occurrence=timezone.localdate() - timedelta(days=30), actor=coordinator)
    assert "already have ended" in error.message
    assert not Round.objects.filter(template=template, occurrence__isnull=False).exists()


def test_a_template_is_updated_and_deleted_by_coordinators_only(template, coordinator, member, source):
    refused("not_coordinator", services.round_template_update, template=template, actor=member, name="X")
    refused("not_coordinator", services.round_template_delete, template=template, actor=member)
    template = services.round_template_update(template=template, actor=coordinator, name="Renamed",
                                              funding_days=30, participant_roles=["member", "contributor"])
    assert (template.name, template.funding_days, template.participant_roles) == (
        "Renamed", 30, ["contributor", "member"])
    services.round_template_delete(template=template, actor=coordinator)
    assert not RoundTemplate.objects.exists()
    source.refresh_from_db()
    assert source.template is None
    assert AuditEvent.objects.filter(action="cobudget.round_template_deleted").exists()


# --- API -----------------------------------------------------------------------------------------------------------

def test_the_api_saves_runs_and_changes_a_template(api, collective, source, coordinator, member, make_bucket):
    fill_pool(collective, "1000.00")
    client = api(coordinator)
    base = f"/api/v1/collectives/{collective.slug}/round-templates/"
    created = client.post(base, {"round": source.pk, "name": "Quarterly", "schedule": "quarterly",
                                 "funding_days": 10, "participant_roles": ["member"]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["schedule"] == "quarterly" and body["rules"]["envelope_amount"] == "50.00"
    assert body["rounds_count"] == 1  # the round it was saved from
    listed = api(member).get(base)
    assert listed.status_code == 200 and [t["id"] for t in listed.json()["results"]] == [body["id"]]

    changed = client.patch(f"{base}{body['id']}/", {"schedule": "none", "funding_days": 20}, format="json")
    assert changed.status_code == 200 and changed.json()["funding_days"] == 20

    run = client.post(f"{base}{body['id']}/run/", {}, format="json")
    assert run.status_code == 201, run.content
    assert run.json()["template"] == body["id"] and run.json()["occurrence"] == timezone.localdate().isoformat()
    assert run.json()["status"] == "open"
    again = client.post(f"{base}{body['id']}/run/", {"occurrence": timezone.localdate().isoformat()}, format="json")
    assert again.status_code == 200 and again.json()["id"] == run.json()["id"]

    bucket = make_bucket(Round.objects.get(pk=run.json()["id"]), by=member)
    kept = api(member).post(f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/carry-over/",
                            {"keep": True}, format="json")
    assert kept.status_code == 200 and kept.json()["carry_over"] is True and kept.json()["carried_from"] is None
    assert client.delete(f"{base}{body['id']}/").status_code == 204
    assert not RoundTemplate.objects.exists()


def test_the_api_refuses_bad_input_saving_nothing(api, collective, source, coordinator, member):
    client = api(coordinator)
    base = f"/api/v1/collectives/{collective.slug}/round-templates/"
    for payload in ({"round": source.pk, "name": ""}, {"round": 999999, "name": "T"},
                    {"round": source.pk, "name": "T", "schedule": "weekly"},
                    {"round": source.pk, "name": "T", "funding_days": 0},
                    {"round": source.pk, "name": "T", "participant_roles": []},
                    {"round": source.pk, "name": "T", "participant_roles": ["boss"]},
                    {"round": source.pk, "name": "T", "schedule": "monthly", "next_occurrence": "2020-01-01"},
                    {"round": source.pk, "name": "T", "next_occurrence": "soon"}):
        response = client.post(base, payload, format="json")
        assert response.status_code == 400, (payload, response.content)
    assert not RoundTemplate.objects.exists()
    assert api(member).post(base, {"round": source.pk, "name": "T"}, format="json").status_code == 403
    assert not RoundTemplate.objects.exists()
    template = services.round_template_save(round=source, actor=coordinator, name="T")
    assert client.post(f"{base}{template.pk}/run/", {"occurrence": "nope"}, format="json").status_code == 400
    assert client.post(f"{base}{template.pk}/run/", {"occurrence": "2001-01-01"},
                       format="json").status_code == 400
    assert api(member).post(f"{base}{template.pk}/run/", {}, format="json").status_code == 403
    assert client.patch(f"{base}{template.pk}/", {"funding_days": "many"}, format="json").status_code == 400
    assert Round.objects.filter(template=template).count() == 1  # the source only


def test_outsiders_get_404_on_every_template_route(api, collective, source, coordinator, outsider, make_bucket):
    template = services.round_template_save(round=source, actor=coordinator, name="T")
    bucket = make_bucket(source)
    client = api(outsider)
    base = f"/api/v1/collectives/{collective.slug}/round-templates/"
    assert client.get(base).status_code == 404
    assert client.post(base, {"round": source.pk, "name": "X"}, format="json").status_code == 404
    assert client.get(f"{base}{template.pk}/").status_code == 404
    assert client.patch(f"{base}{template.pk}/", {"name": "X"}, format="json").status_code == 404
    assert client.delete(f"{base}{template.pk}/").status_code == 404
    assert client.post(f"{base}{template.pk}/run/", {}, format="json").status_code == 404
    assert client.post(f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/carry-over/", {"keep": True},
                       format="json").status_code == 404
    # Another collective's template, through the outsider's own collective: 404 too.
    assert client.get(f"/api/v1/collectives/ailleurs/round-templates/{template.pk}/").status_code == 404
    assert RoundTemplate.objects.get().name == "T"


# --- Pages ---------------------------------------------------------------------------------------------------------

def _logged_in(client, user):
    client.force_login(user)
    return client


def test_the_pages_save_list_edit_run_and_carry_over(client, collective, source, coordinator, member, make_bucket):
    fill_pool(collective, "1000.00")
    slug = collective.slug
    browser = _logged_in(client, coordinator)
    page = browser.get(f"/c/{slug}/cobudget/{source.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Save as a template" in page
    assert browser.post(f"/c/{slug}/cobudget/{source.pk}/save-as-template/", {
        "name": "", "schedule": "monthly", "funding_days": "14", "participant_roles": ["member"]},
        HTTP_ACCEPT_LANGUAGE="en").status_code == 400
    assert not RoundTemplate.objects.exists()
    response = browser.post(f"/c/{slug}/cobudget/{source.pk}/save-as-template/", {
        "name": "Every month", "schedule": "monthly", "funding_days": "14", "participant_roles": ["member"]})
    template = RoundTemplate.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/c/{slug}/cobudget/templates/{template.pk}/"
    listing = browser.get(f"/c/{slug}/cobudget/templates/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Every month" in listing
    edit = browser.get(f"/c/{slug}/cobudget/templates/{template.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Make the next round now" in edit

    bucket = make_bucket(source, by=member, min_goal="900.00")
    _logged_in(client, member)
    bucket_page = client.get(f"/c/{slug}/cobudget/buckets/{bucket.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Carry over to the next round" in bucket_page
    client.post(f"/c/{slug}/cobudget/buckets/{bucket.pk}/carry-over/", {"keep": "1"})
    assert Bucket.objects.get(pk=bucket.pk).carry_over is True
    assert client.get(f"/c/{slug}/cobudget/templates/{template.pk}/").status_code == 403
    services.round_close(round=source, actor=coordinator)

    _logged_in(client, coordinator)
    response = client.post(f"/c/{slug}/cobudget/templates/{template.pk}/run/", {"occurrence": ""})
    round = Round.objects.get(template=template, occurrence__isnull=False)
    assert response["Location"] == f"/c/{slug}/cobudget/{round.pk}/"
    assert Bucket.objects.get(round=round).carried_from_id == bucket.pk
    client.post(f"/c/{slug}/cobudget/templates/{template.pk}/delete/")
    assert not RoundTemplate.objects.exists()


def test_outsiders_get_404_on_the_template_pages(client, collective, source, coordinator, outsider, make_bucket):
    template = services.round_template_save(round=source, actor=coordinator, name="T")
    bucket = make_bucket(source)
    _logged_in(client, outsider)
    slug = collective.slug
    for url in (f"/c/{slug}/cobudget/templates/", f"/c/{slug}/cobudget/templates/{template.pk}/",
                f"/c/{slug}/cobudget/{source.pk}/save-as-template/"):
        assert client.get(url).status_code == 404, url
    for url in (f"/c/{slug}/cobudget/templates/{template.pk}/run/",
                f"/c/{slug}/cobudget/templates/{template.pk}/delete/",
                f"/c/{slug}/cobudget/buckets/{bucket.pk}/carry-over/"):
        assert client.post(url, {"keep": "1"}).status_code == 404, url
    assert RoundTemplate.objects.count() == 1 and not Bucket.objects.get(pk=bucket.pk).carry_over
