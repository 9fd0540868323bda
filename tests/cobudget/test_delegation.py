"""Delegation of a wallet in a live round: the rules, chains refused, allocations on someone's behalf recorded as
theirs, revoking, and the API (issue 14)."""

from decimal import Decimal

import pytest

from budgets.ledger_audit import ledger_violations
from cobudget import selectors, services
from cobudget.models import Allocation, Delegation, RoundCloseRequest, Wallet
from contrib_budget.errors import DomainError, Forbidden
from members.audit import AuditEvent
from members.notifications.models import Notification
from tests.factories import MembershipFactory, UserFactory

D = Decimal


def balance(round, user) -> Decimal:
    return Wallet.objects.select_related("account").get(round=round, user=user).account.balance


def refused(code, call, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


@pytest.fixture
def live(make_round, people):
    """An open live round of 100.00 per wallet for the six people."""
    return make_round(participants=people)


def test_a_delegate_gives_from_the_delegators_wallet_recorded_as_theirs(live, make_bucket, people, english):
    alice, bob = people[0], people[1]
    bucket = make_bucket(live, min_goal="200.00")
    delegation = services.wallet_delegate(round=live, actor=alice, delegate=bob)
    assert delegation.revoked_at is None

    result = services.allocation_create(bucket=bucket, actor=bob, amount="30.00", on_behalf_of=alice)
    assert result.message == "You gave €30.00 on behalf of Alice."
    allocation = Allocation.objects.get(pk=result.allocation.pk)
    assert (allocation.user_id, allocation.made_by_id) == (alice.pk, bob.pk)
    assert balance(live, alice) == D("70.00") and balance(live, bob) == D("100.00")
    assert result.wallet_balance == D("70.00")
    # Bob still gives from his own wallet; Alice still gives from hers.
    own = services.allocation_create(bucket=bucket, actor=bob, amount="5.00")
    assert Allocation.objects.get(pk=own.allocation.pk).made_by_id is None and own.message == "You gave €5.00."
    services.allocation_create(bucket=bucket, actor=alice, amount="10.00")
    assert balance(live, alice) == D("60.00") and balance(live, bob) == D("95.00")
    event = AuditEvent.objects.filter(action="cobudget.allocate").order_by("pk").first()
    assert event.actor_id == bob.pk and event.after["on_behalf_of"] == alice.pk
    assert ledger_violations(live.collective) == []


def test_taking_back_on_behalf_follows_the_same_rules(live, make_bucket, people, english):
    alice, bob = people[0], people[1]
    bucket = make_bucket(live, min_goal="200.00")
    services.allocation_create(bucket=bucket, actor=alice, amount="20.00")
    services.wallet_delegate(round=live, actor=alice, delegate=bob)
    result = services.allocation_create(bucket=bucket, actor=bob, amount="-15.00", on_behalf_of=alice)
    assert result.message == "You took back €15.00 on behalf of Alice."
    assert balance(live, alice) == D("95.00")
    refused("retract_too_much", services.allocation_create, bucket=bucket, actor=bob, amount="-6.00",
            on_behalf_of=alice)


def test_the_per_member_maximum_applies_to_the_owner_of_the_wallet(make_round, make_bucket, people):
    round = make_round(participants=people, max_per_member_per_bucket=D("40.00"))
    alice, bob = people[0], people[1]
    bucket = make_bucket(round, min_goal="300.00")
    services.wallet_delegate(round=round, actor=alice, delegate=bob)
    services.allocation_create(bucket=bucket, actor=alice, amount="30.00")
    refused("member_maximum", services.allocation_create, bucket=bucket, actor=bob, amount="20.00",
            on_behalf_of=alice)
    services.allocation_create(bucket=bucket, actor=bob, amount="10.00", on_behalf_of=alice)
    # Bob's own maximum is untouched by what he gave for Alice.
    services.allocation_create(bucket=bucket, actor=bob, amount="40.00")
    assert balance(round, alice) == D("60.00") and balance(round, bob) == D("60.00")


def test_giving_on_behalf_without_a_delegation_is_refused_and_moves_nothing(live, make_bucket, people):
    alice, bob, gaelle = people[0], people[1], people[2]
    bucket = make_bucket(live)
    refused("not_delegate", services.allocation_create, bucket=bucket, actor=bob, amount="10.00",
            on_behalf_of=alice)
    services.wallet_delegate(round=live, actor=alice, delegate=gaelle)
    error = refused("not_delegate", services.allocation_create, bucket=bucket, actor=bob, amount="10.00",
                    on_behalf_of=alice)
    assert isinstance(error, Forbidden)
    assert not Allocation.objects.exists() and balance(live, alice) == D("100.00")


def test_revoking_ends_the_right_at_once_and_leaves_what_was_given(live, make_bucket, people, english):
    alice, bob = people[0], people[1]
    bucket = make_bucket(live, min_goal="300.00")
    services.wallet_delegate(round=live, actor=alice, delegate=bob)
    services.allocation_create(bucket=bucket, actor=bob, amount="25.00", on_behalf_of=alice)
    services.allocation_create(bucket=bucket, actor=alice, amount="15.00")
    services.wallet_delegation_revoke(round=live, actor=alice)

    assert balance(live, alice) == D("100.00") - D("25.00") - D("15.00")
    assert Allocation.objects.filter(made_by=bob, user=alice).count() == 1  # nothing undone
    refused("not_delegate", services.allocation_create, bucket=bucket, actor=bob, amount="1.00",
            on_behalf_of=alice)
    services.allocation_create(bucket=bucket, actor=alice, amount="60.00")  # the rest is Alice's to give
    assert balance(live, alice) == D("0.00")
    refused("not_delegated", services.wallet_delegation_revoke, round=live, actor=alice)
    # She may delegate again, to someone else.
    services.wallet_delegate(round=live, actor=alice, delegate=people[2])
    assert list(AuditEvent.objects.filter(action__startswith="cobudget.wallet_deleg").order_by("pk")
                .values_list("action", flat=True)) == ["cobudget.wallet_delegated",
                                                        "cobudget.wallet_delegation_revoked",
                                                        "cobudget.wallet_delegated"]


def test_the_rules_of_delegating_refuse_with_clear_codes_and_save_nothing(collective, live, people, coordinator,
                                                                         shares_round):
    alice, bob, gaelle = people[0], people[1], people[2]
    refused("delegation_to_self", services.wallet_delegate, round=live, actor=alice, delegate=alice)
    stranger = MembershipFactory(collective=collective, user=UserFactory(email="zoe@example.org")).user
    refused("not_participant", services.wallet_delegate, round=live, actor=alice, delegate=stranger)
    refused("not_participant", services.wallet_delegate, round=live, actor=stranger, delegate=alice)
    refused("equal_shares_round", services.wallet_delegate, round=shares_round(), actor=alice, delegate=bob)
    services.wallet_delegate(round=live, actor=alice, delegate=bob)
    refused("already_delegated", services.wallet_delegate, round=live, actor=alice, delegate=gaelle)
    assert Delegation.objects.count() == 1


def test_no_chains_a_delegate_cannot_delegate_nor_receive_from_a_delegator(live, people):
    alice, bob, gaelle = people[0], people[1], people[2]
    services.wallet_delegate(round=live, actor=alice, delegate=bob)
    refused("delegation_chain", services.wallet_delegate, round=live, actor=bob, delegate=gaelle)  # A→B, B→C
    refused("delegation_chain", services.wallet_delegate, round=live, actor=gaelle, delegate=alice)  # C→A, A→B
    # Two delegators may trust one delegate.
    services.wallet_delegate(round=live, actor=gaelle, delegate=bob)
    assert Delegation.objects.filter(delegate=bob, revoked_at__isnull=True).count() == 2


def test_a_closed_draft_or_closing_round_accepts_no_delegation(make_round, people, coordinator):
    alice, bob = people[0], people[1]
    draft = make_round(open=False, participants=people)
    refused("round_not_open", services.wallet_delegate, round=draft, actor=alice, delegate=bob)
    closing = make_round(participants=people, name="Closing")
    RoundCloseRequest.objects.create(collective=closing.collective, round=closing)
    refused("round_closing", services.wallet_delegate, round=closing, actor=alice, delegate=bob)
    closed = services.round_close(round=make_round(participants=people, name="Closed"), actor=coordinator)
    refused("round_not_open", services.wallet_delegate, round=closed, actor=alice, delegate=bob)
    assert not Delegation.objects.exists()


def test_the_delegate_is_told_in_the_app(live, people):
    services.wallet_delegate(round=live, actor=people[0], delegate=people[1])
    notification = Notification.objects.get(kind="round.wallet_delegated")
    assert notification.recipient_id == people[1].pk


# ---------------------------------------------------------------------------
# the API

def delegation_url(collective, round):
    return f"/api/v1/collectives/{collective.slug}/rounds/{round.pk}/delegation/"


def allocations_url(collective, bucket):
    return f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/allocations/"


def test_delegate_give_and_revoke_through_the_api(api, collective, live, make_bucket, people):
    alice, bob = people[0], people[1]
    bucket = make_bucket(live, min_goal="200.00")
    assert api(alice).get(delegation_url(collective, live)).json() == {"given": None, "received": []}
    created = api(alice).post(delegation_url(collective, live), {"delegate": bob.pk}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["given"]["delegate"] == bob.pk and created.json()["given"]["delegate_name"] == "Bob"
    received = api(bob).get(delegation_url(collective, live)).json()["received"]
    assert received == [{"delegator": alice.pk, "delegator_name": "Alice", "balance": "100.00",
                         "envelope": "100.00"}]

    given = api(bob).post(allocations_url(collective, bucket), {"amount": "40.00", "on_behalf_of": alice.pk},
                          format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert given.status_code == 201, given.json()
    assert given.json()["wallet_balance"] == "60.00" and "on behalf of Alice" in given.json()["message"]
    funders = api(bob).get(allocations_url(collective, bucket)).json()["results"]
    assert funders == [{"user": alice.pk, "name": "Alice", "amount": "40.00", "given_by_delegates": [
        {"made_by": bob.pk, "made_by_name": "Bob", "amount": "40.00"}]}]
    # A page of funders reads what was given on behalf of its own funders only.
    assert selectors.given_on_behalf(live, [bucket.pk], owner_ids=[bob.pk]) == {}
    assert selectors.given_on_behalf(live, [bucket.pk], owner_ids=[alice.pk]) == {
        bucket.pk: [(bob.pk, "Bob", alice.pk, "Alice", D("40.00"))]}
    wallet = api(bob).get(f"/api/v1/collectives/{collective.slug}/rounds/{live.pk}/wallet/").json()
    assert wallet["delegated_to"] is None and wallet["delegated_wallets"][0]["balance"] == "60.00"
    assert api(alice).get(f"/api/v1/collectives/{collective.slug}/rounds/{live.pk}/wallet/").json()[
        "delegated_to"]["delegate"] == bob.pk

    results = api(alice).get(f"/api/v1/collectives/{collective.slug}/rounds/{live.pk}/results/").json()["results"]
    assert results[0]["given_on_behalf"] == [{"made_by": bob.pk, "made_by_name": "Bob", "user": alice.pk,
                                              "amount": "40.00"}]

    revoked = api(alice).delete(delegation_url(collective, live))
    assert revoked.status_code == 200 and revoked.json() == {"given": None, "received": []}
    after = api(bob).post(allocations_url(collective, bucket), {"amount": "1.00", "on_behalf_of": alice.pk},
                          format="json")
    assert after.status_code == 403 and after.json()["code"] == "not_delegate"
    assert api(alice).delete(delegation_url(collective, live)).status_code == 409


def test_api_bad_input_is_refused_with_nothing_saved(api, collective, live, make_bucket, people, outsider):
    alice = people[0]
    url = delegation_url(collective, live)
    for body in ({}, {"delegate": "abc"}, {"delegate": 0}, {"delegate": 10**30}, {"delegate": alice.pk},
                 {"delegate": outsider.pk}):
        response = api(alice).post(url, body, format="json")
        assert response.status_code == 400, (body, response.json())
    bucket = make_bucket(live)
    for value in ("x", 0, outsider.pk):
        response = api(people[1]).post(allocations_url(collective, bucket), {"amount": "1.00", "on_behalf_of": value},
                                       format="json")
        assert response.status_code == 400, (value, response.json())
    assert not Delegation.objects.exists() and not Allocation.objects.exists()


def test_an_outsider_gets_404_on_the_delegation_routes(api, client, collective, live, outsider, people):
    url = delegation_url(collective, live)
    for method in ("get", "post", "delete"):
        assert getattr(api(outsider), method)(url, {"delegate": people[1].pk}, format="json").status_code == 404
    client.force_login(outsider)
    page = f"/c/{collective.slug}/cobudget/{live.pk}/delegation/"
    assert client.post(page, {"delegation-delegate": people[1].pk}).status_code == 404
    assert client.post(page + "revoke/").status_code == 404
    assert not Delegation.objects.exists()


# ---------------------------------------------------------------------------
# the pages

def test_pages_delegate_give_from_both_wallets_show_it_in_the_results_and_take_it_back(client, collective, live,
                                                                                      make_bucket, people,
                                                                                      coordinator, english):
    alice, bob = people[0], people[1]
    bucket = make_bucket(live, min_goal="50.00")
    client.force_login(alice)
    round_page = f"/c/{collective.slug}/cobudget/{live.pk}/"
    assert "Delegate my wallet" in client.get(round_page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post(f"{round_page}delegation/", {"delegation-delegate": "Bob"})
    assert Delegation.objects.get().delegate_id == bob.pk
    assert "Take my wallet back" in client.get(round_page, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    client.force_login(bob)
    page = client.get(f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Wallet of Alice (delegated to you)" in page and 'name="on_behalf_of"' in page
    allocate = f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/allocate/"
    client.post(allocate, {"amount": "30.00", "round": live.pk, "on_behalf_of": alice.pk, "direction": "give"})
    client.post(allocate, {"amount": "20.00", "round": live.pk, "on_behalf_of": "", "direction": "give"})
    assert balance(live, alice) == D("70.00") and balance(live, bob) == D("80.00")

    services.round_close(round=live, actor=coordinator)
    results = client.get(f"{round_page}results/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "€30.00 given by Bob for Alice" in results

    client.force_login(alice)
    assert client.post(f"{round_page}delegation/revoke/").status_code == 302
    assert Delegation.objects.get().revoked_at is not None


def test_a_typed_person_nobody_matches_is_refused_on_the_page(client, collective, live, people, english):
    client.force_login(people[0])
    response = client.post(f"/c/{collective.slug}/cobudget/{live.pk}/delegation/",
                           {"delegation-delegate": "Nobody at all"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "No member matches “Nobody at all”." in response.content.decode()
    assert not Delegation.objects.exists()


def test_the_round_page_reads_delegations_in_a_bounded_number_of_queries(client, collective, live, make_bucket,
                                                                        people, django_assert_max_num_queries):
    for i in range(3):
        make_bucket(live, title=f"B{i}")
    services.wallet_delegate(round=live, actor=people[0], delegate=people[1])
    services.wallet_delegate(round=live, actor=people[2], delegate=people[1])
    client.force_login(people[1])
    url = f"/c/{collective.slug}/cobudget/{live.pk}/"
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(3, 15):
        make_bucket(live, title=f"B{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)

