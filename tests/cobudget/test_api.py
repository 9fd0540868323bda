from decimal import Decimal

from budgets.models import Account
from cobudget import services
from cobudget.models import Bucket, Round, Wallet
from tests.factories import CollectiveFactory, MembershipFactory

D = Decimal


def rounds_url(collective, *parts):
    return "/".join([f"/api/v1/collectives/{collective.slug}/rounds", *map(str, parts)]) + "/"


def buckets_url(collective, *parts):
    return "/".join([f"/api/v1/collectives/{collective.slug}/buckets", *map(str, parts)]) + "/"


def test_coordinator_creates_opens_and_closes_a_round_through_the_api(api, collective, coordinator, people):
    client = api(coordinator)
    response = client.post(rounds_url(collective), {
        "name": "Printemps", "envelope_policy": "equal", "envelope_amount": "50.00", "allow_retract": False,
        "hide_allocations_until_close": True, "partial_policy": "accept", "partial_threshold_percent": 90,
        "max_per_member_per_bucket": "30.00", "funding_closes_at": "2099-01-01T12:00:00Z",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["envelope_amount"] == "50.00" and body["allow_retract"] is False
    round_id = body["id"]
    assert client.patch(rounds_url(collective, round_id), {"envelope_amount": "60.00"}, format="json").json()[
        "envelope_amount"] == "60.00"
    opened = client.post(rounds_url(collective, round_id, "open"))
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    refused = client.patch(rounds_url(collective, round_id), {"envelope_amount": "70.00"}, format="json")
    assert refused.status_code == 409
    wallet = client.get(rounds_url(collective, round_id, "wallet")).json()
    assert wallet == {"round": round_id, "envelope": "60.00", "balance": "60.00", "allocated": "0.00",
                      "delegated_to": None, "delegated_wallets": []}
    closed = client.post(rounds_url(collective, round_id, "close"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert client.post(rounds_url(collective, round_id, "close")).status_code == 200


def test_members_cannot_create_open_or_close_rounds(api, collective, member, make_round):
    round = make_round(open=False)
    client = api(member)
    assert client.post(rounds_url(collective), {"name": "X"}, format="json").status_code == 403
    assert client.post(rounds_url(collective, round.pk, "open")).status_code == 403
    assert client.post(rounds_url(collective, round.pk, "close")).status_code == 403
    assert client.get(rounds_url(collective, round.pk)).status_code == 200


def test_bucket_lifecycle_and_allocation_through_the_api(api, collective, coordinator, member, make_round):
    round = make_round(bucket_approval_required=True)
    client = api(member)
    created = client.post(buckets_url(collective), {"round": round.pk, "title": "Four à pain",
                                                    "description": "Un four", "min_goal": "40.00",
                                                    "max_goal": "80.00"}, format="json")
    assert created.status_code == 201, created.json()
    bucket = created.json()
    assert bucket["status"] == "draft" and bucket["min_goal"] == "40.00" and bucket["max_goal"] == "80.00"
    assert bucket["funded_amount"] == "0.00" and bucket["funders_count"] == 0
    assert len(bucket["budget_lines"]) == 1
    assert client.post(buckets_url(collective, bucket["id"], "propose")).json()["status"] == "proposed"
    assert client.post(buckets_url(collective, bucket["id"], "approve")).status_code == 403
    assert api(coordinator).post(buckets_url(collective, bucket["id"], "approve")).json()["status"] == "open"
    allocated = client.post(buckets_url(collective, bucket["id"], "allocations"), {"amount": "25.00"}, format="json")
    assert allocated.status_code == 201, allocated.json()
    assert allocated.json()["funded_amount"] == "25.00" and allocated.json()["wallet_balance"] == "75.00"
    taken_back = client.post(buckets_url(collective, bucket["id"], "allocations"), {"amount": "-5.00"}, format="json")
    assert taken_back.status_code == 201 and taken_back.json()["amount"] == "-5.00"
    listed = client.get(buckets_url(collective), {"round": round.pk}).json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert (row["funded_amount"], row["funders_count"], row["my_allocation"]) == ("20.00", 1, "20.00")
    funders = client.get(buckets_url(collective, bucket["id"], "allocations")).json()["results"]
    assert funders == [{"user": member.pk, "name": "Bob", "amount": "20.00", "given_by_delegates": []}]
    assert client.get(rounds_url(collective, round.pk, "wallet")).json()["allocated"] == "20.00"


def test_budget_lines_are_accepted_instead_of_goals(api, collective, member, make_round):
    round = make_round()
    response = api(member).post(buckets_url(collective), {"round": round.pk, "title": "Jardin", "budget_lines": [
        {"description": "Graines", "min_amount": "10.00", "max_amount": "20.00"},
        {"description": "Outils", "min_amount": "30.00"}]}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["min_goal"], response.json()["max_goal"]) == ("40.00", "50.00")


def test_bad_bucket_input_gives_clear_errors(api, collective, member, make_round):
    round = make_round()
    client = api(member)
    above = client.post(buckets_url(collective), {"round": round.pk, "title": "X", "min_goal": "90.00",
                                                  "max_goal": "50.00"}, format="json")
    assert above.status_code == 400
    assert above.json()["code"] == "min_above_max" and "max_goal" in above.json()["fields"]
    negative = client.post(buckets_url(collective), {"round": round.pk, "title": "X", "min_goal": "-1.00"},
                           format="json")
    assert negative.status_code == 400 and "min_goal" in negative.json()["fields"]
    missing = client.post(buckets_url(collective), {"round": round.pk, "title": "X"}, format="json")
    assert missing.status_code == 400 and "min_goal" in missing.json()["fields"]
    other = CollectiveFactory(slug="ailleurs-2")
    MembershipFactory(collective=other, user=member, roles=["coordinator"])
    foreign_round = services.round_create(collective=other, actor=member, name="Ailleurs")
    foreign = client.post(buckets_url(collective), {"round": foreign_round.pk, "title": "X", "min_goal": "5.00"},
                          format="json")
    assert foreign.status_code == 400 and "round" in foreign.json()["fields"]


def test_bad_allocations_give_clear_errors(api, collective, member, coordinator, make_round, make_bucket):
    round = make_round(allow_retract=False)
    other_round = make_round(name="Other")
    bucket = make_bucket(round, min_goal="50.00")
    url = buckets_url(collective, bucket.pk, "allocations")
    client = api(member)
    negative = client.post(url, {"amount": "-5.00"}, format="json")
    assert negative.status_code == 403 and negative.json()["code"] == "retract_forbidden"
    over = client.post(url, {"amount": "60.00"}, format="json")
    assert over.status_code == 400 and over.json()["code"] == "overfunding" and "50,00" in over.json()["detail"]
    wrong_round = client.post(url, {"amount": "5.00", "round": other_round.pk}, format="json")
    assert wrong_round.status_code == 400 and wrong_round.json()["code"] == "wrong_round"
    garbage = client.post(url, {"amount": "abc"}, format="json")
    assert garbage.status_code == 400 and "amount" in garbage.json()["fields"]
    too_precise = client.post(url, {"amount": "1.001"}, format="json")
    assert too_precise.status_code == 400
    services.round_close(round=round, actor=coordinator)
    closed = client.post(url, {"amount": "5.00"}, format="json")
    assert closed.status_code == 409 and closed.json()["code"] == "round_closed"


def test_a_bucket_of_another_collective_is_not_found(api, collective, member, outsider):
    other = outsider.memberships.get().collective
    round = services.round_create(collective=other, actor=outsider, name="Theirs", participants=[outsider])
    foreign = services.bucket_create(round=round, actor=outsider, title="Theirs",
                                     lines=[{"min_amount": "5.00"}])
    client = api(member)
    assert client.post(buckets_url(collective, foreign.pk, "allocations"), {"amount": "1.00"},
                       format="json").status_code == 404
    assert client.get(buckets_url(collective, foreign.pk)).status_code == 404
    assert client.get(rounds_url(collective, round.pk)).status_code == 404


def test_hidden_allocations_stay_hidden_in_the_api_until_the_close(api, collective, coordinator, member, people,
                                                                   make_round, make_bucket):
    round = make_round(hide_allocations_until_close=True)
    bucket = make_bucket(round, min_goal="15.00", max_goal="50.00")
    services.allocation_create(bucket=bucket, actor=member, amount="12.00")
    services.allocation_create(bucket=bucket, actor=people[2], amount="7.00")
    for viewer in (people[3], coordinator):
        client = api(viewer)
        funders = client.get(buckets_url(collective, bucket.pk, "allocations")).json()["results"]
        assert funders == []
        row = client.get(buckets_url(collective, bucket.pk)).json()
        assert row["funders_count"] is None and row["my_allocation"] == "0.00"
    mine = api(member).get(buckets_url(collective, bucket.pk, "allocations")).json()["results"]
    assert mine == [{"user": member.pk, "name": "Bob", "amount": "12.00", "given_by_delegates": []}]
    services.round_close(round=round, actor=coordinator)
    funders = api(people[3]).get(buckets_url(collective, bucket.pk, "allocations")).json()["results"]
    assert {f["amount"] for f in funders} == {"12.00", "7.00"}


def test_merge_and_cancel_through_the_api(api, collective, coordinator, member, make_round, make_bucket):
    round = make_round()
    first = make_bucket(round, title="A", min_goal="30.00")
    second = make_bucket(round, title="B", min_goal="20.00")
    services.allocation_create(bucket=second, actor=member, amount="10.00")
    client = api(coordinator)
    merged = client.post(buckets_url(collective, second.pk, "merge"), {"into": first.pk}, format="json")
    assert merged.status_code == 200, merged.json()
    assert merged.json()["id"] == first.pk and merged.json()["funded_amount"] == "10.00"
    assert merged.json()["min_goal"] == "50.00"
    assert client.post(buckets_url(collective, first.pk, "merge"), {"into": 999999}, format="json").status_code == 400
    cancelled = client.post(buckets_url(collective, first.pk, "cancel"))
    assert cancelled.json()["status"] == "cancelled"
    assert Wallet.objects.select_related("account").get(round=round, user=member).account.balance == D("100.00")
    assert Account.objects.get(pk=Bucket.objects.get(pk=first.pk).account_id).balance == 0
    assert Round.objects.get(pk=round.pk).status == "open"


def test_coordinators_read_the_pool_balance_members_get_403_and_outsiders_404(api, collective, coordinator, member,
                                                                              outsider, make_round):
    url = rounds_url(collective, "pool")
    assert api(coordinator).get(url).json() == {"balance": "0.00", "currency": collective.currency}
    round = make_round(leftover_policy="return_to_pool")  # Alice and Bob, 100.00 each, nothing given
    services.round_close(round=round, actor=coordinator)
    assert api(coordinator).get(url).json() == {"balance": "200.00", "currency": collective.currency}
    refused = api(member).get(url)
    assert refused.status_code == 403 and set(refused.json()) == {"detail", "code", "fields"}
    assert api(outsider).get(url).status_code == 404
