"""Rules the acceptance review settled: merges and the per-member maximum, proposed buckets at the close, the pool."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from budgets.ledger_audit import ledger_violations
from budgets.models import Account, AccountKind
from cobudget import selectors, services
from cobudget.models import Allocation, AllocationKind, BucketStatus, Wallet
from contrib_budget.errors import Conflict
from members.models import AuditEvent

D = Decimal


def balance(account_id) -> Decimal:
    return Account.objects.get(pk=account_id).balance


def wallet(round, user) -> Wallet:
    return Wallet.objects.select_related("account").get(round=round, user=user)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_merge_returns_what_would_exceed_the_per_member_maximum_to_the_wallet(
        make_round, make_bucket, coordinator, member, people):
    round = make_round(max_per_member_per_bucket=D("50.00"))
    oven = make_bucket(round, title="Oven", min_goal="100.00", max_goal="200.00")
    bread = make_bucket(round, title="Bread", min_goal="80.00")
    services.allocation_create(bucket=oven, actor=member, amount="30.00")
    services.allocation_create(bucket=bread, actor=member, amount="45.00")
    services.allocation_create(bucket=bread, actor=people[2], amount="20.00")

    target = services.bucket_merge(bucket=bread, into=oven, actor=coordinator)

    assert selectors.funding_by_bucket([target], member)[target.pk].my_amount == D("50.00")
    assert wallet(round, member).account.balance == D("50.00")  # 100 - 30 - 45, then 25 back
    assert selectors.funding_by_bucket([target], people[2])[target.pk].my_amount == D("20.00")
    assert balance(target.account_id) == D("70.00") and balance(bread.account_id) == D("0.00")
    excess = Allocation.objects.get(kind=AllocationKind.MERGE_EXCESS)
    assert (excess.user, excess.amount, excess.bucket_id) == (member, D("-25.00"), bread.pk)
    event = AuditEvent.objects.filter(action="cobudget.bucket_merged").latest("pk")
    assert event.after["returned_over_member_maximum"] == {str(member.pk): "25.00"}
    assert ledger_violations(round.collective) == []

    html = logged_in(member).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/",
                                 HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "came back to your wallet when “Bread” was merged into “Oven”" in html


def test_a_bucket_still_proposed_at_the_close_ends_unfunded_as_never_opened(api, make_round, make_bucket, coordinator,
                                                                              member):
    round = make_round(bucket_approval_required=True)
    waiting = make_bucket(round, title="Waiting room", min_goal="50.00")
    approved = make_bucket(round, title="Approved", min_goal="50.00")
    services.bucket_approve(bucket=approved, actor=coordinator)
    assert waiting.status == BucketStatus.PROPOSED

    services.round_close(round=round, actor=coordinator)

    waiting.refresh_from_db()
    approved.refresh_from_db()
    assert (waiting.status, waiting.status_at_close) == (BucketStatus.UNFUNDED, BucketStatus.PROPOSED)
    assert (approved.status, approved.status_at_close) == (BucketStatus.UNFUNDED, BucketStatus.OPEN)
    assert not Allocation.objects.filter(bucket=waiting).exists()
    html = logged_in(member).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/results/",
                                 HTTP_ACCEPT_LANGUAGE="en").content.decode()
    waiting_row = html.split(f'id="result-{waiting.pk}"')[1].split("</li>")[0]
    approved_row = html.split(f'id="result-{approved.pk}"')[1].split("</li>")[0]
    assert "never opened for funding" in waiting_row
    assert "nobody gave to it" in approved_row
    body = api(member).get(f"/api/v1/collectives/{round.collective.slug}/buckets/{waiting.pk}/").json()
    assert (body["status"], body["status_at_close"]) == ("unfunded", "proposed")


def test_results_say_what_an_unfunded_bucket_raised_before_its_refund(make_round, make_bucket, coordinator, member):
    round = make_round()
    bucket = make_bucket(round, title="Too big", min_goal="150.00")
    services.allocation_create(bucket=bucket, actor=member, amount="40.00")
    services.round_close(round=round, actor=coordinator)
    html = logged_in(member).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/results/",
                                 HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "raised €40.00 of €150.00: refunded to the wallets" in html


def test_what_wallets_return_to_the_pool_funds_a_later_round(make_round, make_bucket, collective, coordinator,
                                                             member, people):
    first = make_round(leftover_policy="return_to_pool")  # six participants, 100.00 each
    bucket = make_bucket(first, min_goal="100.00")
    services.allocation_create(bucket=bucket, actor=member, amount="100.00")
    services.round_close(round=first, actor=coordinator)
    assert selectors.pool_balance(collective) == D("500.00")
    totals = selectors.round_totals(first)
    assert totals["left_at_close"] == D("500.00")
    # Every cent of the envelopes is either in the funded bucket or back in the pool.
    assert totals["envelopes"] == balance(bucket.account_id) + totals["left_at_close"] == D("600.00")

    html = logged_in(coordinator).get(f"/c/{collective.slug}/cobudget/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cobudget pool" in html and "500.00" in html
    assert "Cobudget pool" not in logged_in(member).get(f"/c/{collective.slug}/cobudget/").content.decode()

    too_big = make_round(open=False, name="Too big", envelope_amount=D("90.00"), funded_from_pool=True)
    with pytest.raises(Conflict) as refused:
        services.round_open(round=too_big, actor=coordinator)
    assert refused.value.code == "pool_insufficient"
    assert not Wallet.objects.filter(round=too_big).exists()

    second = make_round(name="From the pool", envelope_amount=D("80.00"), funded_from_pool=True)
    assert wallet(second, member).account.balance == D("80.00")
    assert selectors.pool_balance(collective) == D("20.00")
    pool = Account.objects.get(collective=collective, kind=AccountKind.POOL)
    assert ledger_violations(collective) == [] and pool.balance == D("20.00")


def test_the_api_exposes_and_sets_funding_from_the_pool(api, collective, coordinator):
    client = api(coordinator)
    url = f"/api/v1/collectives/{collective.slug}/rounds/"
    created = client.post(url, {"name": "Pool round", "envelope_policy": "equal", "envelope_amount": "10.00",
                                "funded_from_pool": True}, format="json")
    assert created.status_code == 201 and created.json()["funded_from_pool"] is True
    opened = client.post(f"{url}{created.json()['id']}/open/")
    assert opened.status_code == 409 and opened.json()["code"] == "pool_insufficient"
    assert set(opened.json()) == {"detail", "code", "fields"}


def test_the_round_page_says_why_a_bucket_cannot_be_funded_yet(make_round, make_bucket, coordinator, member):
    round = make_round(bucket_approval_required=True)
    withdrawn = make_bucket(round, title="Withdrawn", min_goal="50.00")
    services.bucket_cancel(bucket=withdrawn, actor=coordinator)
    waiting = make_bucket(round, title="Waiting room", min_goal="50.00")
    html = logged_in(member).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/",
                                 HTTP_ACCEPT_LANGUAGE="en").content.decode()
    card = html.split(f'id="bucket-{waiting.pk}"')[1].split("</article>")[0]
    assert "Waiting for a coordinator's approval before it opens for funding." in card
    assert 'name="amount"' not in card and "Approve for funding" not in card
    assert f'id="bucket-{withdrawn.pk}"' not in html  # withdrawn buckets leave the grid…
    html = logged_in(member).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/?show=all").content.decode()
    assert html.index(f'id="bucket-{waiting.pk}"') < html.index(f'id="bucket-{withdrawn.pk}"')  # …or come last
    html = logged_in(coordinator).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/",
                                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Approve for funding" in html.split(f'id="bucket-{waiting.pk}"')[1].split("</article>")[0]


def test_results_explain_a_partially_funded_bucket(make_round, make_bucket, coordinator, member, people):
    round = make_round(partial_policy="accept", partial_threshold_percent=90)
    bucket = make_bucket(round, min_goal="100.00", max_goal="120.00")
    services.allocation_create(bucket=bucket, actor=member, amount="60.00")
    services.allocation_create(bucket=bucket, actor=people[2], amount="35.00")
    services.round_close(round=round, actor=coordinator)
    html = logged_in(member).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/results/").content.decode()
    assert "Accepté à 95 % de son minimum : le tour accepte les projets à partir de 90 %." in html


def test_an_overfunding_allocation_says_how_much_is_still_needed_in_the_member_language(
        api, collective, make_round, make_bucket, member):
    round = make_round()
    bucket = make_bucket(round, min_goal="60.00", max_goal="80.50")
    services.allocation_create(bucket=bucket, actor=member, amount="10.00")
    url = f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/allocations/"
    client = api(member)
    french = client.post(url, {"amount": "90.00"}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert french.status_code == 400 and french.json()["code"] == "overfunding"
    assert french.json()["detail"] == "Il ne manque plus que 70,50\xa0€ à ce projet."
    english = client.post(url, {"amount": "90.00"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["detail"] == "This bucket only needs €70.50 more."
    assert english.json()["fields"] == {"amount": ["At most €70.50."]}


def test_the_round_page_says_when_funding_opens(make_round, make_bucket, member):
    opens = timezone.now() + timedelta(days=2)
    round = make_round(funding_opens_at=opens, funding_closes_at=opens + timedelta(days=7))
    bucket = make_bucket(round, min_goal="50.00")
    html = logged_in(member).get(f"/c/{round.collective.slug}/cobudget/{round.pk}/",
                                 HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Funding opens " in html and "until then, read the buckets" in html
    assert 'name="amount"' not in html.split(f'id="bucket-{bucket.pk}"')[1].split("</article>")[0]


def test_a_round_funded_from_the_pool_gives_what_is_left_back_to_the_pool(make_round, make_bucket, collective,
                                                                          coordinator, member):
    first = make_round(leftover_policy="return_to_pool")  # the coordinator and the member, 100.00 each
    services.round_close(round=first, actor=coordinator)
    assert selectors.pool_balance(collective) == D("200.00")
    second = make_round(name="From the pool", envelope_amount=D("50.00"), funded_from_pool=True)  # "expire"
    assert second.leftover_policy == "expire" and selectors.pool_balance(collective) == D("100.00")
    bucket = make_bucket(second, min_goal="30.00")
    services.allocation_create(bucket=bucket, actor=member, amount="30.00")
    services.round_close(round=second, actor=coordinator)
    assert selectors.pool_balance(collective) == D("170.00")
    assert ledger_violations(collective) == []


def test_drafts_still_in_draft_at_the_close_are_cancelled(make_round, make_bucket, coordinator):
    round = make_round()
    draft = make_bucket(round, propose=False, title="Idea")
    services.round_close(round=round, actor=coordinator)
    draft.refresh_from_db()
    assert (draft.status, draft.status_at_close) == (BucketStatus.CANCELLED, BucketStatus.DRAFT)


def test_a_coordinator_resolves_a_flag_saying_how(api, make_round, make_bucket, collective, coordinator, member):
    bucket = make_bucket(make_round())
    flag = services.bucket_flag(bucket=bucket, actor=member, reason="Hors de la charte")
    url = f"/api/v1/collectives/{collective.slug}/flags/{flag.pk}/resolve/"
    assert api(member).post(url, {"resolution": "Non"}, format="json").status_code == 403
    assert api(coordinator).post(url, {"resolution": "  "}, format="json").status_code == 400
    resolved = api(coordinator).post(url, {"resolution": "Budget revu avec les porteurs"}, format="json")
    assert resolved.status_code == 200, resolved.content
    body = resolved.json()
    assert (body["resolved_by"], body["resolution"]) == (coordinator.pk, "Budget revu avec les porteurs")
    assert api(coordinator).post(url, {"resolution": "Encore"}, format="json").status_code == 409
    listed = api(member).get(f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/flags/").json()
    assert [row["id"] for row in listed["results"]] == [flag.pk] and listed["results"][0]["resolved_at"]
    page = logged_in(coordinator).get(f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/",
                                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Resolved by Alice" in page and "Budget revu avec les porteurs" in page
    assert AuditEvent.objects.filter(action="cobudget.flag_resolved").exists()
