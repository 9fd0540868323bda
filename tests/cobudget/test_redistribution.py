"""A round that redistributes: its first close gives back what buckets below their minimum hold, a second window
lets the funders give it again to buckets not yet full, then the final close (issue 14)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from budgets.ledger_audit import books_violations, ledger_violations
from budgets.models import LedgerTransaction
from cobudget import selectors, services
from cobudget.models import Allocation, Bucket, BucketStatus, Round, RoundCloseRequest, RoundStatus, Wallet
from cobudget.services import redistribution
from contrib_budget.errors import Conflict, DomainError
from members.models import AuditEvent
from members.notifications.models import Notification

D = Decimal


def balance(wallet_or_bucket) -> Decimal:
    wallet_or_bucket.account.refresh_from_db()
    return wallet_or_bucket.account.balance


def wallet(round, person) -> Wallet:
    return Wallet.objects.select_related("account").get(round=round, user=person)


def fresh(bucket) -> Bucket:
    return Bucket.objects.select_related("account").get(pk=bucket.pk)


def scenario(make_round, make_bucket, people, **rules):
    """Six participants with 100 each. "Below" (min 100) holds 90 from two funders; "Open" (min 50, max 100)
    holds 60, above its minimum but not full; "Full" (min = max = 20) is funded."""
    round = make_round(partial_policy="redistribute", **rules)
    below = make_bucket(round, title="Below", min_goal="100.00", max_goal="150.00")
    open_ = make_bucket(round, title="Open", min_goal="50.00", max_goal="100.00")
    full = make_bucket(round, title="Full", min_goal="20.00")
    services.allocation_create(bucket=below, actor=people[1], amount="60.00")
    services.allocation_create(bucket=below, actor=people[2], amount="30.00")
    services.allocation_create(bucket=open_, actor=people[3], amount="60.00")
    services.allocation_create(bucket=full, actor=people[4], amount="20.00")
    return round, below, open_, full


def clean(round) -> None:
    assert ledger_violations(round.collective) == []
    assert books_violations(round.collective) == []


def test_the_first_close_refunds_buckets_below_their_minimum_and_opens_a_second_window(
        make_round, make_bucket, people, coordinator):
    round, below, open_, full = scenario(make_round, make_bucket, people)
    before = timezone.now()
    round = services.round_close(round=round, actor=coordinator)

    assert round.status == RoundStatus.OPEN and round.settled_at is None
    assert round.redistribution_started_at is not None
    assert before + timedelta(hours=48) <= round.redistribution_closes_at <= timezone.now() + timedelta(hours=48)
    assert not RoundCloseRequest.objects.filter(round=round).exists()
    below = fresh(below)
    assert (below.status, below.status_at_close, balance(below)) == (BucketStatus.UNFUNDED, BucketStatus.OPEN, 0)
    assert below.settled_at is not None
    assert fresh(open_).status == BucketStatus.OPEN and fresh(open_).settled_at is None
    assert fresh(full).status == BucketStatus.FUNDED and fresh(full).settled_at is None
    refunds = {a.user_id: a.amount for a in Allocation.objects.filter(bucket=below, kind="refund")}
    assert refunds == {people[1].pk: D("-60.00"), people[2].pk: D("-30.00")}
    # Not redistribute_unspent: what the wallets held at the first close expired; only the refunds are left.
    assert [balance(wallet(round, person)) for person in people] == [0, D("60.00"), D("30.00"), 0, 0, 0]
    assert LedgerTransaction.objects.filter(kind="cobudget_wallet_expiry").count() == len(people)
    assert services.funding_is_open(round)
    told = Notification.objects.filter(kind="round.redistribution").order_by("recipient_id")
    assert [(n.recipient_id, n.params["amount"]) for n in told] == [(people[1].pk, "60.00"), (people[2].pk, "30.00")]
    actions = set(AuditEvent.objects.filter(collective=round.collective).values_list("action", flat=True))
    assert {"cobudget.redistribution_started", "cobudget.redistribution_opened"} <= actions
    clean(round)


def test_in_the_second_window_only_buckets_open_and_not_full_receive_then_the_final_close(
        make_round, make_bucket, people, coordinator):
    round, below, open_, full = scenario(make_round, make_bucket, people)
    services.round_close(round=round, actor=coordinator)

    result = services.allocation_create(bucket=fresh(open_), actor=people[1], amount="40.00")
    assert result.amount == D("40.00") and fresh(open_).status == BucketStatus.FUNDED
    for bucket, code in ((full, "bucket_full"), (below, "bucket_not_open"), (open_, "bucket_full")):
        with pytest.raises(Conflict) as refused:
            services.allocation_create(bucket=fresh(bucket), actor=people[2], amount="10.00")
        assert refused.value.code == code
    assert balance(wallet(round, people[2])) == D("30.00")  # refused: nothing moved

    # A coordinator's close in the second window is the final close.
    round = services.round_close(round=Round.objects.get(pk=round.pk), actor=coordinator)
    assert round.status == RoundStatus.CLOSED and round.settled_at is not None
    assert fresh(open_).status == BucketStatus.FUNDED and balance(fresh(open_)) == D("100.00")
    assert fresh(full).status == BucketStatus.FUNDED
    assert fresh(below).status == BucketStatus.UNFUNDED
    assert all(balance(w) == 0 for w in Wallet.objects.filter(round=round).select_related("account"))
    # Money conserved: the source gave 600, 120 are in the funded buckets, the rest came back to it.
    assert services.round_source_account(round).balance == D("-120.00")
    with pytest.raises(Conflict):
        services.allocation_create(bucket=fresh(open_), actor=people[1], amount="-10.00")
    clean(round)


def test_buckets_below_their_minimum_at_the_final_close_are_refunded(make_round, make_bucket, people, coordinator):
    round, below, open_, full = scenario(make_round, make_bucket, people, redistribute_unspent=True)
    services.round_close(round=round, actor=coordinator)
    services.allocation_create(bucket=fresh(open_), actor=people[3], amount="-30.00")  # now 30, below 50
    Round.objects.filter(pk=round.pk).update(redistribution_closes_at=timezone.now() - timedelta(seconds=1))
    assert services.rounds_close_due() == [round.pk]
    assert fresh(open_).status == BucketStatus.UNFUNDED and balance(fresh(open_)) == 0
    assert fresh(open_).status_at_close == BucketStatus.OPEN
    assert services.round_source_account(round).balance == D("-20.00")
    clean(round)


def test_unspent_money_stays_in_the_wallets_when_the_round_says_so(make_round, make_bucket, people, coordinator):
    round, below, open_, full = scenario(make_round, make_bucket, people, redistribute_unspent=True)
    services.round_close(round=round, actor=coordinator)
    assert [balance(wallet(round, person)) for person in people] == [
        D("100.00"), D("100.00"), D("100.00"), D("40.00"), D("80.00"), D("100.00")]
    assert not LedgerTransaction.objects.filter(kind__in=("cobudget_wallet_expiry", "cobudget_wallet_return"))
    # Everyone can give what they never spent, to buckets not yet full.
    services.allocation_create(bucket=fresh(open_), actor=people[5], amount="40.00")
    assert fresh(open_).status == BucketStatus.FUNDED
    clean(round)


def test_a_pool_funded_round_returns_its_leftovers_to_the_pool(collective, make_round, make_bucket, people,
                                                               coordinator, english):
    seed = make_round(name="Seed", leftover_policy="return_to_pool")
    services.round_close(round=seed, actor=coordinator)
    assert selectors.pool_balance(collective) == D("600.00")
    round, below, open_, full = scenario(make_round, make_bucket, people, name="From the pool",
                                         funded_from_pool=True)
    assert selectors.pool_balance(collective) == 0
    services.round_close(round=round, actor=coordinator)
    # Unspent (430) went back to the pool at the first close, not to the round's source.
    assert selectors.pool_balance(collective) == D("430.00")
    assert LedgerTransaction.objects.filter(kind="cobudget_wallet_return", memo__contains="first close").count() == 6
    services.allocation_create(bucket=fresh(open_), actor=people[1], amount="25.00")
    services.round_close(round=Round.objects.get(pk=round.pk), actor=coordinator)
    # 85 in the funded "Open", 20 in "Full": the rest of the 600 is back in the pool.
    assert selectors.pool_balance(collective) == D("495.00")
    assert services.round_source_account(round).balance == 0
    clean(round)


def test_closing_twice_in_each_stage_has_one_effect(make_round, make_bucket, people, coordinator):
    round, *_buckets = scenario(make_round, make_bucket, people)
    services.round_close(round=round, actor=coordinator)
    count, closes_at = LedgerTransaction.objects.count(), Round.objects.get(pk=round.pk).redistribution_closes_at
    services.redistribution_first_close(round=round, actor=coordinator)
    assert LedgerTransaction.objects.count() == count
    assert Round.objects.get(pk=round.pk).redistribution_closes_at == closes_at
    assert Notification.objects.filter(kind="round.redistribution").count() == 2
    services.round_close(round=round, actor=coordinator)
    count = LedgerTransaction.objects.count()
    services.round_close(round=round, actor=coordinator)
    assert LedgerTransaction.objects.count() == count
    clean(round)


@pytest.mark.parametrize("step", ["unspent_settle", "redistribution_buckets_settle"])
def test_a_first_close_killed_halfway_is_completed_by_the_next_run(step, make_round, make_bucket, people,
                                                                   coordinator, monkeypatch, settings):
    round, below, open_, full = scenario(make_round, make_bucket, people)
    second_below = make_bucket(round, title="Below too", min_goal="90.00")
    services.allocation_create(bucket=second_below, actor=people[5], amount="10.00")
    settings.POSTINGS_PER_TRANSACTION = 1  # one wallet, one bucket a set: the run dies between two sets
    real = getattr(redistribution, step)
    calls = []

    def dying(**kwargs):
        if len(calls) == 1:
            raise RuntimeError("killed")
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(redistribution, step, dying)
    with pytest.raises(RuntimeError):
        services.round_close(round=round, actor=coordinator)
    halfway = Round.objects.get(pk=round.pk)
    assert halfway.redistribution_started_at is not None and halfway.redistribution_closes_at is None
    assert not services.funding_is_open(halfway)
    with pytest.raises(Conflict) as refused:
        services.allocation_create(bucket=fresh(open_), actor=people[0], amount="10.00")
    assert refused.value.code == "funding_closed"
    monkeypatch.setattr(redistribution, step, real)

    assert services.rounds_close_due() == [round.pk]
    done = Round.objects.get(pk=round.pk)
    assert done.status == RoundStatus.OPEN and done.redistribution_closes_at is not None
    # One result: every movement once, as an uninterrupted run makes them.
    assert LedgerTransaction.objects.filter(kind="cobudget_refund").count() == 3
    assert LedgerTransaction.objects.filter(kind="cobudget_wallet_expiry").count() == len(people)
    assert [balance(wallet(round, person)) for person in people] == [0, D("60.00"), D("30.00"), 0, 0, D("10.00")]
    assert {fresh(below).status, fresh(second_below).status} == {BucketStatus.UNFUNDED}
    assert services.rounds_close_due() == []
    clean(round)


def test_beat_drives_both_closes(make_round, make_bucket, people):
    round, below, open_, full = scenario(make_round, make_bucket, people,
                                         funding_closes_at=timezone.now() + timedelta(hours=1))
    assert services.rounds_close_due() == []
    Round.objects.filter(pk=round.pk).update(funding_closes_at=timezone.now() - timedelta(seconds=1))
    assert services.rounds_close_due() == [round.pk]
    first = Round.objects.get(pk=round.pk)
    assert first.status == RoundStatus.OPEN and first.redistribution_closes_at > timezone.now()
    assert services.funding_is_open(first)  # the funding window's end no longer applies
    assert services.rounds_close_due() == []
    Round.objects.filter(pk=round.pk).update(redistribution_closes_at=timezone.now() - timedelta(seconds=1))
    assert not services.funding_is_open(Round.objects.get(pk=round.pk))
    assert services.rounds_close_due() == [round.pk]
    final = Round.objects.get(pk=round.pk)
    assert final.status == RoundStatus.CLOSED and final.settled_at is not None
    clean(round)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_first_closes_post_each_movement_once(make_round, make_bucket, people, coordinator):
    from tests.threads import run_concurrently

    round, *_buckets = scenario(make_round, make_bucket, people)
    _results, errors = run_concurrently(lambda i: services.round_close(round=round, actor=coordinator), 4)
    assert not errors
    assert LedgerTransaction.objects.filter(kind="cobudget_refund").count() == 2
    assert LedgerTransaction.objects.filter(kind="cobudget_wallet_expiry").count() == len(people)
    assert Round.objects.get(pk=round.pk).redistribution_closes_at is not None
    clean(round)


def test_equal_shares_rounds_cannot_redistribute(collective, coordinator, english):
    with pytest.raises(DomainError) as refused:
        services.round_create(collective=collective, actor=coordinator, name="ES", mode="equal_shares",
                              total_amount="100.00", partial_policy="redistribute")
    assert refused.value.code == "redistribute_equal_shares" and "partial_policy" in refused.value.fields
    assert not Round.objects.exists()


def test_the_api_sets_and_shows_the_second_window(api, collective, coordinator, member, english):
    client = api(coordinator)
    rounds = f"/api/v1/collectives/{collective.slug}/rounds/"
    created = client.post(rounds, {"name": "R", "envelope_amount": "50.00", "partial_policy": "redistribute",
                                   "redistribution_hours": 24, "redistribute_unspent": True}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["redistribution_hours"], body["redistribute_unspent"]) == (24, True)
    assert body["redistribution_started_at"] is None and body["redistribution_closes_at"] is None
    url = f"{rounds}{body['id']}/"
    for bad in ({"redistribution_hours": 0}, {"redistribution_hours": "many"}, {"redistribution_hours": 10000}):
        refused = client.patch(url, bad, format="json")
        assert refused.status_code == 400 and "redistribution_hours" in refused.json()["fields"], refused.content
    assert Round.objects.get(pk=body["id"]).redistribution_hours == 24
    refused = client.post(rounds, {"name": "ES", "mode": "equal_shares", "total_amount": "10.00",
                                   "partial_policy": "redistribute"}, format="json")
    assert refused.status_code == 400 and "partial_policy" in refused.json()["fields"]
    client.post(f"{url}open/")
    assert client.patch(url, {"redistribution_hours": 12}, format="json").status_code == 409
    closed = client.post(f"{url}close/").json()
    assert closed["status"] == "open" and closed["redistribution_closes_at"] is not None
    assert closed["redistribution_started_at"] is not None
    assert api(member).get(url).json()["redistribution_closes_at"] == closed["redistribution_closes_at"]
    assert client.post(f"{url}close/").json()["status"] == "closed"


def test_the_round_page_closes_the_first_window_and_tells_the_second(collective, make_round, make_bucket, people,
                                                                    coordinator, outsider, english):
    round, below, open_, full = scenario(make_round, make_bucket, people)
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(coordinator)
    page = f"/c/{collective.slug}/cobudget/{round.pk}/"
    html = browser.get(page).content.decode()
    assert "Close the first window" in html and "close-first-window" in html
    assert "Then a second window of 48 hours opens" in html

    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.post(f"{page}close-first-window/").status_code == 404
    member = Client()
    member.force_login(people[1])
    assert member.post(f"{page}close-first-window/").status_code == 403
    assert Round.objects.get(pk=round.pk).redistribution_started_at is None

    response = browser.post(f"{page}close-first-window/", follow=True)
    assert response.redirect_chain[-1][0] == page
    html = response.content.decode()
    assert "First window closed" in html and "Second window, until" in html
    assert "Close the first window" not in html and "Close the round" in html
    assert "The second window was to stay open until" in html
    response = browser.post(f"{page}close-first-window/", follow=True)  # another coordinator was quicker
    assert response.redirect_chain[-1][0].endswith("/results/")
    assert Round.objects.get(pk=round.pk).status == RoundStatus.CLOSED


def test_the_set_up_page_sets_the_second_window_next_to_the_partial_policy(collective, coordinator):
    from tests.cobudget.test_forms import logged_in, page, round_form

    client = logged_in(coordinator)
    html = client.get(page(collective, "new")).content.decode()
    assert 'id="field-redistribution_hours" data-when="partial_policy" data-values="redistribute"' in html
    assert html.index('name="partial_policy"') < html.index('name="redistribution_hours"') < html.index(
        'name="leftover_policy"')
    response = client.post(page(collective, "new"), round_form(partial_policy="redistribute",
                                                               redistribution_hours="12", redistribute_unspent="on"))
    assert response.status_code == 302
    round = Round.objects.get(name="Été")
    assert (round.partial_policy, round.redistribution_hours, round.redistribute_unspent) == ("redistribute", 12, True)
    # Left empty, or never sent: the round keeps its own (48 by default).
    assert client.post(page(collective, round.pk, "edit"), round_form(redistribution_hours="")).status_code == 302
    assert Round.objects.get(pk=round.pk).redistribution_hours == 12
    refused = client.post(page(collective, "new"), round_form(name="Trop", partial_policy="redistribute",
                                                              redistribution_hours="0"))
    assert refused.status_code == 200 and not Round.objects.filter(name="Trop").exists()
    refused = client.post(page(collective, "new"), round_form(name="ES", mode="equal_shares", total_amount="10",
                                                              partial_policy="redistribute"))
    assert not Round.objects.filter(name="ES").exists() or Round.objects.get(name="ES").partial_policy != "redistribute"
