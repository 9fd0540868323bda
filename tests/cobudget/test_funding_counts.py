"""Lists of buckets count their funders in the database (`funding_by_bucket`): one row a bucket, the same figures
as naming every funder. A bucket's own page also names its biggest funders, as many as it shows (`naming`)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cobudget import selectors, services

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def funded(make_round, make_bucket, people):
    """Three buckets: one given to by four people (one of whom took it all back), one by one, one by nobody."""
    round = make_round()
    buckets = [make_bucket(round, title=title, min_goal="300.00") for title in ("Many", "One", "None")]
    for person, amount in zip(people[:4], ("10.00", "20.00", "5.00", "7.00"), strict=True):
        services.allocation_create(bucket=buckets[0], actor=person, amount=amount)
    services.allocation_create(bucket=buckets[0], actor=people[3], amount="-7.00")
    services.allocation_create(bucket=buckets[1], actor=people[1], amount="15.00")
    return buckets


@pytest.mark.parametrize("reader", [0, 1, 3, 5, None])
def test_counted_funders_are_those_named_and_what_the_reader_gave(funded, people, reader):
    user = people[reader] if reader is not None else AnonymousUser()
    named = selectors.funding_by_bucket(funded, user, naming=10)
    counted = selectors.funding_by_bucket(funded, user)
    assert {pk: (f.funded_amount, f.funders_count, f.my_amount) for pk, f in counted.items()} == {
        pk: (f.funded_amount, f.funders_count, f.my_amount) for pk, f in named.items()}
    assert [named[bucket.pk].funders_count for bucket in funded] == [3, 1, 0]
    assert all(not funding.funders for funding in counted.values())


def test_naming_reads_only_the_biggest_funders_of_each_bucket(funded, people):
    named = selectors.funding_by_bucket(funded, people[1], naming=2)
    assert [[(uid, amount) for uid, _name, amount in named[bucket.pk].funders] for bucket in funded] == [
        [(people[1].pk, D("20.00")), (people[0].pk, D("10.00"))], [(people[1].pk, D("15.00"))], []]
    assert [named[bucket.pk].funders_count for bucket in funded] == [3, 1, 0]


def test_a_list_of_buckets_reads_one_row_a_bucket_not_one_a_funder(funded, people):
    with CaptureQueriesContext(connection) as queries:
        selectors.funding_by_bucket(funded, people[1])
    [totals] = [query["sql"] for query in queries if "cobudget_memberbuckettotal" in query["sql"]]
    assert "GROUP BY" in totals and "members_user" not in totals


def _named_funders(queries) -> list[str]:
    return [query["sql"] for query in queries if "cobudget_memberbuckettotal" in query["sql"]
            and "members_user" in query["sql"]]


def test_the_round_page_its_give_box_and_the_api_count_funders_without_naming_them(client, api, collective,
                                                                                 coordinator, funded):
    round_id = funded[0].round_id
    client.force_login(coordinator)
    for reader, path in ((client, f"/c/{collective.slug}/cobudget/{round_id}/"),
                         (api(coordinator), f"/api/v1/collectives/{collective.slug}/buckets/?round={round_id}")):
        with CaptureQueriesContext(connection) as queries:
            assert reader.get(path).status_code == 200
        assert _named_funders(queries) == [], path
    with CaptureQueriesContext(connection) as queries:
        box = client.post(f"/c/{collective.slug}/cobudget/buckets/{funded[0].pk}/allocate/",
                          {"amount": "1", "direction": "give"}, HTTP_HX_REQUEST="true")
    assert box.status_code == 200 and 'class="message success cb-outcome"' in box.content.decode()
    assert _named_funders(queries) == []
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/c/{collective.slug}/cobudget/buckets/{funded[0].pk}/").status_code == 200
    assert _named_funders(queries)  # a bucket's own page names its biggest funders
    listed = api(coordinator).get(f"/api/v1/collectives/{collective.slug}/buckets/?round={round_id}").json()
    assert {row["title"]: (row["funders_count"], row["my_allocation"]) for row in listed["results"]} == {
        "Many": (3, "11.00"), "One": (1, "0.00"), "None": (0, "0.00")}
