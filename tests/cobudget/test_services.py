from decimal import Decimal

import pytest

from budgets.ledger_audit import ledger_violations
from budgets.models import Account, LedgerTransaction
from cobudget import selectors, services
from cobudget.models import Allocation, Bucket, BucketStatus, Round, RoundStatus, Wallet
from cobudget.services import closing
from contrib_budget.errors import Conflict, DomainError, Forbidden

D = Decimal


def wallet(round, user) -> Wallet:
    return Wallet.objects.select_related("account").get(round=round, user=user)


def funded(bucket) -> Decimal:
    return Account.objects.get(pk=bucket.account_id).balance


def test_opening_credits_every_member_wallet_in_one_transaction(make_round, people, accountant):
    round = make_round()
    wallets = Wallet.objects.filter(round=round).select_related("account")
    assert sorted(w.user_id for w in wallets) == sorted(p.pk for p in people)  # the accountant holds no member role
    assert all(w.account.balance == D("100.00") and w.envelope == D("100.00") for w in wallets)
    opening = LedgerTransaction.objects.get(idempotency_key=f"cobudget:round:{round.pk}:open")
    assert opening.entries.count() == len(people) + 1
    assert ledger_violations(round.collective) == []


def test_opening_twice_is_refused_and_credits_once(make_round, coordinator, people):
    round = make_round()
    with pytest.raises(Conflict):
        services.round_open(round=round, actor=coordinator)
    assert Wallet.objects.filter(round=round).count() == len(people)


def test_explicit_participants_replace_the_member_role(make_round, people):
    round = make_round(participants=people[:2])
    assert set(Wallet.objects.filter(round=round).values_list("user_id", flat=True)) == {people[0].pk, people[1].pk}


def test_manual_envelopes_give_each_member_their_amount(make_round, people):
    round = make_round(envelope_policy="manual",
                       manual_envelopes={str(people[0].pk): "30.00", str(people[1].pk): "12.50"})
    assert wallet(round, people[0]).account.balance == D("30.00")
    assert wallet(round, people[1]).account.balance == D("12.50")
    assert Wallet.objects.filter(round=round).count() == 2


def test_allocation_moves_money_from_wallet_to_bucket(make_round, make_bucket, member):
    round = make_round()
    bucket = make_bucket(round, min_goal="50.00", max_goal="80.00")
    result = services.allocation_create(bucket=bucket, actor=member, amount="30.00")
    assert result.amount == D("30.00") and result.wallet_balance == D("70.00")
    assert funded(bucket) == D("30.00")
    assert selectors.wallet_allocated(wallet(round, member)) == D("30.00")
    assert ledger_violations(round.collective) == []


@pytest.mark.usefixtures("english")
def test_overfunding_is_refused_with_what_is_still_needed(make_round, make_bucket, member, coordinator):
    round = make_round()
    bucket = make_bucket(round, min_goal="50.00", max_goal="60.00")
    services.allocation_create(bucket=bucket, actor=coordinator, amount="45.00")
    with pytest.raises(DomainError) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="20.00")
    assert error.value.code == "overfunding"
    assert "15.00" in error.value.message
    assert funded(bucket) == D("45.00")


@pytest.mark.usefixtures("english")
def test_cap_to_remaining_trims_the_allocation_and_says_so(make_round, make_bucket, member, coordinator):
    round = make_round(overallocation_mode="cap_to_remaining")
    bucket = make_bucket(round, min_goal="50.00", max_goal="60.00")
    services.allocation_create(bucket=bucket, actor=coordinator, amount="45.00")
    result = services.allocation_create(bucket=bucket, actor=member, amount="20.00")
    assert result.trimmed and result.amount == D("15.00") and "15.00" in result.message
    bucket.refresh_from_db()
    assert funded(bucket) == D("60.00") and bucket.status == BucketStatus.FUNDED
    assert wallet(round, member).account.balance == D("85.00")


@pytest.mark.usefixtures("english")
def test_member_maximum_per_bucket_is_enforced(make_round, make_bucket, member):
    round = make_round(max_per_member_per_bucket=D("25.00"))
    bucket = make_bucket(round, min_goal="100.00")
    services.allocation_create(bucket=bucket, actor=member, amount="20.00")
    with pytest.raises(DomainError) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="10.00")
    assert error.value.code == "member_maximum" and "5.00" in error.value.message


def test_wallet_never_goes_negative(make_round, make_bucket, member):
    round = make_round()
    bucket = make_bucket(round, min_goal="500.00")
    with pytest.raises(DomainError) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="100.01")
    assert error.value.code == "insufficient_funds"
    assert wallet(round, member).account.balance == D("100.00")


def test_retract_gives_money_back_when_the_round_allows_it(make_round, make_bucket, member):
    round = make_round()
    bucket = make_bucket(round, min_goal="100.00")
    services.allocation_create(bucket=bucket, actor=member, amount="40.00")
    services.allocation_create(bucket=bucket, actor=member, amount="-15.00")
    assert funded(bucket) == D("25.00") and wallet(round, member).account.balance == D("75.00")
    with pytest.raises(DomainError) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="-30.00")
    assert error.value.code == "retract_too_much"


def test_retract_refused_when_the_round_forbids_it(make_round, make_bucket, member):
    round = make_round(allow_retract=False)
    bucket = make_bucket(round, min_goal="100.00")
    services.allocation_create(bucket=bucket, actor=member, amount="40.00")
    with pytest.raises(Forbidden) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="-10.00")
    assert error.value.code == "retract_forbidden"
    assert funded(bucket) == D("40.00")


def test_allocation_after_close_is_refused(make_round, make_bucket, member, coordinator):
    round = make_round()
    bucket = make_bucket(round, min_goal="10.00")
    services.round_close(round=round, actor=coordinator)
    with pytest.raises(Conflict) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="5.00")
    assert error.value.code == "round_closed"


def test_allocation_outside_the_funding_window_is_refused(make_round, make_bucket, member):
    from datetime import timedelta

    from django.utils import timezone

    round = make_round(funding_opens_at=timezone.now() + timedelta(days=1))
    bucket = make_bucket(round)
    with pytest.raises(Conflict) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="5.00")
    assert error.value.code == "funding_closed"


def test_allocation_to_a_bucket_of_another_round_is_refused(make_round, make_bucket, member):
    first, second = make_round(name="First"), make_round(name="Second")
    bucket = make_bucket(second)
    with pytest.raises(DomainError) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="5.00", round_id=first.pk)
    assert error.value.code == "wrong_round" and "round" in error.value.fields


def test_bucket_with_min_goal_above_max_goal_is_refused(make_round, make_bucket):
    round = make_round()
    with pytest.raises(DomainError) as error:
        make_bucket(round, min_goal="100.00", max_goal="50.00")
    assert error.value.code == "min_above_max" and "max_goal" in error.value.fields
    with pytest.raises(DomainError) as error:
        make_bucket(round, min_goal="-5.00")
    assert error.value.code == "min_goal"
    with pytest.raises(DomainError) as error:
        make_bucket(round, min_goal="1.234")
    assert error.value.code == "amount_precision"


def test_negative_envelope_amount_is_refused(collective, coordinator):
    with pytest.raises(DomainError) as error:
        services.round_create(collective=collective, actor=coordinator, name="R", envelope_amount=D("-1.00"))
    assert "envelope_amount" in error.value.fields


def test_budget_lines_make_the_goals(make_round, make_bucket):
    round = make_round()
    bucket = make_bucket(round, lines=[
        {"description": "Wood", "min_amount": "100.00", "max_amount": "150.00"},
        {"description": "Tools", "min_amount": "40.00"},
    ])
    assert (bucket.min_goal, bucket.max_goal) == (D("140.00"), D("190.00"))


def test_approval_required_keeps_a_proposed_bucket_closed_to_funding(make_round, make_bucket, member, coordinator):
    round = make_round(bucket_approval_required=True)
    bucket = make_bucket(round, by=member)
    assert bucket.status == BucketStatus.PROPOSED
    with pytest.raises(Conflict):
        services.allocation_create(bucket=bucket, actor=member, amount="5.00")
    with pytest.raises(Forbidden):
        services.bucket_approve(bucket=bucket, actor=member)
    bucket = services.bucket_approve(bucket=bucket, actor=coordinator)
    assert bucket.status == BucketStatus.OPEN


def test_a_bucket_needs_its_minimum_of_carriers(make_round, make_bucket, member, coordinator):
    round = make_round(min_carriers=2)
    bucket = make_bucket(round, by=member, propose=False)
    with pytest.raises(DomainError) as error:
        services.bucket_propose(bucket=bucket, actor=member)
    assert error.value.code == "not_enough_carriers"
    services.bucket_update(bucket=bucket, actor=member, carriers=[member, coordinator])
    assert services.bucket_propose(bucket=bucket, actor=member).status == BucketStatus.OPEN


def test_cancel_reverses_every_allocation(make_round, make_bucket, member, coordinator):
    round = make_round()
    bucket = make_bucket(round, min_goal="100.00")
    services.allocation_create(bucket=bucket, actor=member, amount="30.00")
    services.allocation_create(bucket=bucket, actor=coordinator, amount="20.00")
    services.bucket_cancel(bucket=bucket, actor=coordinator)
    bucket.refresh_from_db()
    assert bucket.status == BucketStatus.CANCELLED and funded(bucket) == D("0.00")
    assert wallet(round, member).account.balance == D("100.00")
    assert wallet(round, coordinator).account.balance == D("100.00")
    assert LedgerTransaction.objects.filter(kind="cobudget_refund").count() == 2


def test_merge_moves_lines_carriers_and_allocations(make_round, make_bucket, member, coordinator, people):
    round = make_round()
    first = make_bucket(round, by=coordinator, title="Oven", min_goal="100.00")
    second = make_bucket(round, by=member, title="Bread", min_goal="50.00", max_goal="60.00")
    services.allocation_create(bucket=second, actor=people[2], amount="40.00")
    services.bucket_update(bucket=second, actor=member, carriers=[member, coordinator])
    target = services.bucket_merge(bucket=second, into=first, actor=coordinator)
    second.refresh_from_db()
    assert second.status == BucketStatus.CANCELLED and second.merged_into == target
    assert (target.min_goal, target.max_goal) == (D("150.00"), D("160.00"))
    assert set(target.carriers.values_list("pk", flat=True)) == {member.pk, coordinator.pk}
    assert funded(target) == D("40.00") and funded(second) == D("0.00")
    assert selectors.funding_by_bucket([target], people[2])[target.pk].my_amount == D("40.00")


def close_scenario(make_round, make_bucket, people, **rules):
    """A bucket with min 100 reaching 95 (95%)."""
    round = make_round(partial_threshold_percent=90, **rules)
    bucket = make_bucket(round, min_goal="100.00", max_goal="120.00")
    services.allocation_create(bucket=bucket, actor=people[1], amount="60.00")
    services.allocation_create(bucket=bucket, actor=people[2], amount="35.00")
    return round, bucket


def test_bucket_at_95_percent_with_accept_is_partially_funded(make_round, make_bucket, people, coordinator):
    round, bucket = close_scenario(make_round, make_bucket, people, partial_policy="accept")
    services.round_close(round=round, actor=coordinator)
    bucket.refresh_from_db()
    assert bucket.status == BucketStatus.PARTIALLY_FUNDED and funded(bucket) == D("95.00")


def test_bucket_at_95_percent_with_refund_is_refunded_exactly(make_round, make_bucket, people, coordinator):
    round, bucket = close_scenario(make_round, make_bucket, people, partial_policy="refund",
                                   leftover_policy="return_to_pool")
    services.round_close(round=round, actor=coordinator)
    bucket.refresh_from_db()
    assert bucket.status == BucketStatus.UNFUNDED and funded(bucket) == D("0.00")
    refunds = {a.user_id: a.amount for a in Allocation.objects.filter(bucket=bucket, kind="refund")}
    assert refunds == {people[1].pk: D("-60.00"), people[2].pk: D("-35.00")}
    # Restored wallets held their whole envelope again, which then went back to the pool.
    leftovers = LedgerTransaction.objects.filter(kind="cobudget_wallet_return")
    assert sorted(t.entries.get(amount__gt=0).amount for t in leftovers) == [D("100.00")] * len(people)
    assert services.pool_account(round.collective).balance == D("100.00") * len(people)
    assert ledger_violations(round.collective) == []


def test_bucket_reaching_its_minimum_is_funded_and_leftovers_expire(make_round, make_bucket, people, coordinator):
    round = make_round()
    bucket = make_bucket(round, min_goal="50.00", max_goal="90.00")
    services.allocation_create(bucket=bucket, actor=people[1], amount="50.00")
    services.round_close(round=round, actor=coordinator)
    bucket.refresh_from_db()
    assert bucket.status == BucketStatus.FUNDED
    assert all(w.account.balance == 0 for w in Wallet.objects.filter(round=round).select_related("account"))
    assert services.round_source_account(round).balance == D("-50.00")


def test_closing_twice_has_one_effect(make_round, make_bucket, people, coordinator):
    round, bucket = close_scenario(make_round, make_bucket, people, partial_policy="refund")
    services.round_close(round=round, actor=coordinator)
    count = LedgerTransaction.objects.count()
    services.round_close(round=round, actor=coordinator)
    assert LedgerTransaction.objects.count() == count
    assert Round.objects.get(pk=round.pk).settled_at is not None


def test_a_close_killed_halfway_is_completed_by_the_next_run(make_round, make_bucket, people, coordinator, monkeypatch,
                                                             settings):
    round, bucket = close_scenario(make_round, make_bucket, people, partial_policy="refund")
    settings.POSTINGS_PER_TRANSACTION = 1  # a wallet per set: the close dies between two wallets
    real_settle = services.wallets_settle
    calls = []

    def dying_settle(**kwargs):
        if len(calls) == 2:
            raise RuntimeError("killed")
        calls.append(kwargs["round"])
        return real_settle(**kwargs)

    monkeypatch.setattr(closing, "wallets_settle", dying_settle)
    with pytest.raises(RuntimeError):
        services.round_close(round=round, actor=coordinator)
    round.refresh_from_db()
    assert round.status == RoundStatus.CLOSED and round.settled_at is None
    assert Wallet.objects.filter(round=round, settled_at__isnull=False).count() == 2
    monkeypatch.setattr(closing, "wallets_settle", real_settle)
    assert services.rounds_close_due() == [round.pk]
    round.refresh_from_db()
    assert round.settled_at is not None
    assert LedgerTransaction.objects.filter(kind="cobudget_refund").count() == 2
    assert LedgerTransaction.objects.filter(kind="cobudget_wallet_expiry").count() == len(people)
    assert ledger_violations(round.collective) == []


def test_due_rounds_are_closed_by_the_periodic_job(make_round, coordinator):
    from datetime import timedelta

    from django.utils import timezone

    round = make_round(funding_closes_at=timezone.now() + timedelta(hours=1))
    Round.objects.filter(pk=round.pk).update(funding_closes_at=timezone.now() - timedelta(seconds=1))
    assert services.rounds_close_due() == [round.pk]
    assert Round.objects.get(pk=round.pk).status == RoundStatus.CLOSED
    assert services.rounds_close_due() == []


def test_funded_bucket_status_follows_allocations(make_round, make_bucket, member):
    round = make_round()
    bucket = make_bucket(round, min_goal="10.00", max_goal="20.00")
    services.allocation_create(bucket=bucket, actor=member, amount="20.00")
    assert Bucket.objects.get(pk=bucket.pk).status == BucketStatus.FUNDED
    with pytest.raises(Conflict) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="1.00")
    assert error.value.code == "bucket_full"
    services.allocation_create(bucket=bucket, actor=member, amount="-5.00")
    assert Bucket.objects.get(pk=bucket.pk).status == BucketStatus.OPEN


def test_comments_questions_and_flags(make_round, make_bucket, member):
    round = make_round()
    bucket = make_bucket(round)
    services.bucket_comment(bucket=bucket, actor=member, body="Why this oven?", kind="question")
    services.bucket_flag(bucket=bucket, actor=member, reason="Guideline 2: local suppliers")
    with pytest.raises(Conflict):
        services.bucket_flag(bucket=bucket, actor=member, reason="again")
    assert bucket.comments.get().kind == "question" and bucket.flags.count() == 1


def running_totals_agree(round) -> bool:
    """Every wallet's `allocated` and member's total in a bucket equal the sums of their allocations."""
    from cobudget.running_totals import running_total_violations

    problems = running_total_violations(round.collective)
    assert problems == []
    return True


def test_running_totals_follow_allocations_take_backs_merges_and_refunds(make_round, make_bucket, people,
                                                                         coordinator):
    from cobudget.models import MemberBucketTotal

    round = make_round(partial_policy="refund")
    oven, bread = make_bucket(round, title="Oven", min_goal="300.00"), make_bucket(round, title="Bread")
    services.allocation_create(bucket=oven, actor=people[1], amount="30.00")
    services.allocation_create(bucket=oven, actor=people[1], amount="-10.00")
    services.allocation_create(bucket=bread, actor=people[1], amount="15.00")
    services.allocation_create(bucket=bread, actor=people[2], amount="5.00")
    assert wallet(round, people[1]).allocated == D("35.00")
    assert MemberBucketTotal.objects.get(bucket=oven, user=people[1]).amount == D("20.00")
    services.bucket_merge(bucket=bread, into=oven, actor=coordinator)
    assert MemberBucketTotal.objects.get(bucket=oven, user=people[1]).amount == D("35.00")
    assert MemberBucketTotal.objects.get(bucket=bread, user=people[1]).amount == D("0.00")
    assert running_totals_agree(round)
    services.round_close(round=round, actor=coordinator)  # the oven misses its minimum: refunded
    assert wallet(round, people[1]).allocated == D("0.00") and wallet(round, people[2]).allocated == D("0.00")
    assert running_totals_agree(round)


def test_the_nightly_check_reports_a_running_total_that_drifted(make_round, make_bucket, member, coordinator,
                                                                 settings, mailoutbox):
    from cobudget.models import MemberBucketTotal
    from cobudget.running_totals import running_total_violations
    from cobudget.tasks import check_running_totals

    settings.ADMINS = [("Admin", "admin@example.org")]
    round = make_round()
    bucket = make_bucket(round)
    services.allocation_create(bucket=bucket, actor=member, amount="30.00")
    assert check_running_totals() == 0
    MemberBucketTotal.objects.filter(bucket=bucket, user=member).update(amount=D("31.00"))
    Wallet.objects.filter(round=round, user=member).update(allocated=D("29.00"))
    assert running_total_violations(round.collective) == [
        f"member {member.pk} has 31.00 in bucket {bucket.pk} but their allocations sum to 30.00",
        f"wallet #{wallet(round, member).pk} has 29.00 in buckets but its allocations sum to 30.00",
    ]
    assert check_running_totals() == 1
    assert [m.to for m in mailoutbox if "running totals" in m.subject] == [["admin@example.org"]]


def test_a_take_back_is_limited_by_the_running_total_not_the_last_allocation(make_round, make_bucket, member):
    round = make_round()
    bucket = make_bucket(round)
    for amount in ("10.00", "5.00", "-3.00"):
        services.allocation_create(bucket=bucket, actor=member, amount=amount)
    with pytest.raises(DomainError) as error:
        services.allocation_create(bucket=bucket, actor=member, amount="-12.01")
    assert error.value.code == "retract_too_much"
    services.allocation_create(bucket=bucket, actor=member, amount="-12.00")
    assert wallet(round, member).allocated == D("0.00") and funded(bucket) == D("0.00")
