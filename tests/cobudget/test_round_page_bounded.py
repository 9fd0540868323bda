"""The round page is bounded by construction: buckets a page at a time, searched and sorted in the query string,
and a live refresh that sends only what changed on the tab's page since its last poll."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from budgets.models import Account, AccountKind
from cobudget import services
from cobudget.models import Bucket, BucketStatus
from cobudget.views import BUCKETS_PER_PAGE

D = Decimal
CARD = 'class="card cb-bucket"'


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def round_url(round, suffix="") -> str:
    return f"/c/{round.collective.slug}/cobudget/{round.pk}/{suffix}"


def add_buckets(round, author, count: int, *, first: int = 0) -> list[Bucket]:
    """`count` open buckets inserted in bulk (no money moves: their accounts start empty). Titles and goals have
    the same width whatever the index, so a page's size depends only on how many buckets it shows."""
    collective = round.collective
    accounts = Account.objects.bulk_create(
        Account(collective=collective, kind=AccountKind.BUCKET, code=f"test:bucket:{round.pk}:{i:04d}",
                name=f"Bucket {i:04d}", currency=collective.currency) for i in range(first, first + count))
    return Bucket.objects.bulk_create(
        Bucket(collective=collective, round=round, title=f"Bucket {i:04d}", description=f"Plan number {i:04d}",
               status=BucketStatus.OPEN, created_by=author, min_goal=D("100.00"), max_goal=D("200.00"),
               account=account)
        for i, account in zip(range(first, first + count), accounts, strict=True))


def shown_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article class="card cb-bucket" id="bucket-(\d+)"', html)]


def seen_of(html: str) -> str:
    return re.search(r'id="cb-seen" name="seen" value="([^"]*)"', html).group(1)


# ---------------------------------------------------------------------------
# one page at a time, searched and sorted

def test_the_round_page_shows_one_page_of_buckets_and_links_the_next(collective, member, make_round, coordinator):
    round = make_round()
    add_buckets(round, coordinator, BUCKETS_PER_PAGE + 5)
    client = client_for(member)
    first = client.get(round_url(round)).content.decode()
    assert first.count(CARD) == BUCKETS_PER_PAGE
    assert "Bucket 0000" in first and f"Bucket {BUCKETS_PER_PAGE:04d}" not in first
    assert 'rel="next"' in first and "page=2" in first
    second = client.get(round_url(round), {"page": 2}).content.decode()
    assert second.count(CARD) == 5 and f"Bucket {BUCKETS_PER_PAGE + 4:04d}" in second
    assert client.get(round_url(round), {"page": "junk"}).status_code == 200


def test_search_finds_buckets_by_title_or_description_in_any_case(collective, member, make_round, coordinator):
    round = make_round()
    add_buckets(round, coordinator, 30)
    Bucket.objects.filter(title="Bucket 0007").update(title="Four à PAIN")
    Bucket.objects.filter(title="Bucket 0021").update(description="Un four solaire pour l'été")
    client = client_for(member)
    html = client.get(round_url(round), {"q": " FOUR "}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count(CARD) == 2 and "Four à PAIN" in html and "Bucket 0021" in html
    assert 'value="FOUR"' in html and "2 buckets match “FOUR”" in html
    none = client.get(round_url(round), {"q": "zzz"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert none.count(CARD) == 0 and "No bucket matches “zzz”." in none


@pytest.mark.parametrize(("sort", "expected"), [
    ("proposed", ["Bucket 0000", "Bucket 0001", "Bucket 0002", "Bucket 0003"]),
    ("newest", ["Bucket 0003", "Bucket 0002", "Bucket 0001", "Bucket 0000"]),
    ("most_funded", ["Bucket 0002", "Bucket 0001", "Bucket 0003", "Bucket 0000"]),
    # 0001 needs 60 more, 0003 90, 0000 200; 0002 reached its goal: last.
    ("closest", ["Bucket 0001", "Bucket 0003", "Bucket 0000", "Bucket 0002"]),
    ("title", ["Bucket 0000", "Bucket 0001", "Bucket 0002", "Bucket 0003"]),
    ("junk", ["Bucket 0000", "Bucket 0001", "Bucket 0002", "Bucket 0003"]),
])
def test_buckets_are_sorted_as_asked(collective, coordinator, member, people, make_round, sort, expected):
    round = make_round(envelope_amount=D("500.00"))
    buckets = add_buckets(round, coordinator, 4)
    for bucket, amount in zip(buckets[1:], ("140.00", "200.00", "110.00"), strict=True):
        services.allocation_create(bucket=bucket, actor=member, amount=amount)
    html = client_for(member).get(round_url(round), {"sort": sort}).content.decode()
    titles = re.findall(r'<article class="card cb-bucket".*?>(Bucket \d{4})</a>', html, re.S)
    assert titles == expected


def test_withdrawn_buckets_stay_last_and_out_unless_asked_and_every_choice_stays_in_the_links(
        collective, coordinator, member, make_round):
    round = make_round()
    buckets = add_buckets(round, coordinator, BUCKETS_PER_PAGE + 2)
    Bucket.objects.filter(pk=buckets[-1].pk).update(status=BucketStatus.CANCELLED)
    client = client_for(member)
    html = client.get(round_url(round), {"q": "bucket", "sort": "newest"}).content.decode()
    assert f"Bucket {BUCKETS_PER_PAGE + 1:04d}" not in html and "show=all&amp;q=bucket&amp;sort=newest" in html
    assert "q=bucket&amp;sort=newest&amp;page=2" in html
    everything = client.get(round_url(round), {"show": "all", "sort": "newest", "page": 2}).content.decode()
    assert shown_ids(everything)[-1] == buckets[-1].pk
    assert 'name="show" value="all"' in everything


def test_a_draft_shows_only_to_its_carriers_among_the_pages(collective, coordinator, member, make_round, make_bucket):
    round = make_round()
    add_buckets(round, coordinator, 3)
    draft = make_bucket(round, by=member, title="Brouillon", propose=False)
    assert draft.pk in shown_ids(client_for(member).get(round_url(round), {"q": "brouillon"}).content.decode())
    assert shown_ids(client_for(coordinator).get(round_url(round), {"q": "brouillon"}).content.decode()) == []


def test_the_round_page_costs_the_same_queries_at_3_and_60_buckets_and_the_same_size_at_60_and_180(
        collective, coordinator, member, make_round, django_assert_max_num_queries):
    round = make_round()
    add_buckets(round, coordinator, 3)
    services.allocation_create(bucket=Bucket.objects.get(title="Bucket 0000"), actor=member, amount="5.00")
    client = client_for(coordinator)  # the coordinator also gets the close question
    client.get(round_url(round))
    with django_assert_max_num_queries(20) as few:
        client.get(round_url(round), {"sort": "most_funded"})
    few = len(few.captured_queries)  # read now: the next request empties the connection's log
    add_buckets(round, coordinator, 57, first=3)
    with django_assert_max_num_queries(few):
        sixty = client.get(round_url(round), {"sort": "most_funded"})
    add_buckets(round, coordinator, 120, first=60)
    with django_assert_max_num_queries(few):
        hundred_eighty = client.get(round_url(round), {"sort": "most_funded"})
    assert sixty.content.decode().count(CARD) == hundred_eighty.content.decode().count(CARD) == BUCKETS_PER_PAGE
    # The same page either way, but for the counts it states ("60 buckets", "page 1 of 3").
    assert abs(len(hundred_eighty.content) - len(sixty.content)) <= 16


# ---------------------------------------------------------------------------
# the live refresh

def test_the_page_tells_its_live_refresh_what_it_shows_and_nothing_changed_answers_204(
        collective, member, make_round, coordinator):
    round = make_round()
    buckets = add_buckets(round, coordinator, BUCKETS_PER_PAGE + 3)
    client = client_for(member)
    html = client.get(round_url(round)).content.decode()
    assert 'hx-include="#cb-seen"' in html and 'hx-trigger="every 2s"' in html
    seen = seen_of(html)
    assert {int(item.split(".")[0]) for item in seen.split("-")[1:]} == {b.pk for b in buckets[:BUCKETS_PER_PAGE]}
    response = client.get(round_url(round, "live/"), {"seen": seen})
    assert response.status_code == 204 and response.content == b""


def test_after_an_allocation_the_live_refresh_carries_that_bucket_only(collective, coordinator, member,
                                                                       make_round):
    round = make_round()
    buckets = add_buckets(round, coordinator, 10)
    alice, bob = client_for(coordinator), client_for(member)
    alice_seen = seen_of(alice.get(round_url(round)).content.decode())
    bob_seen = seen_of(bob.get(round_url(round)).content.decode())
    services.allocation_create(bucket=buckets[3], actor=coordinator, amount="30.00")

    # Alice's own wallet moved too; Bob only sees the bucket.
    for client, seen, wallet in ((alice, alice_seen, True), (bob, bob_seen, False)):
        html = client.get(round_url(round, "live/"), {"seen": seen}).content.decode()
        assert re.findall(r'id="funding-(\d+)"', html) == [str(buckets[3].pk)]
        assert f'id="funding-{buckets[3].pk}" hx-swap-oob="true" data-funded="30.00"' in html
        assert f'id="status-{buckets[3].pk}" hx-swap-oob="true"' in html
        assert ('id="wallet" hx-swap-oob="true"' in html) is wallet
        assert 'id="cb-seen" name="seen"' in html
        # With what that answer says the tab now shows, nothing more comes.
        assert client.get(round_url(round, "live/"), {"seen": seen_of(html)}).status_code == 204


def test_the_live_refresh_only_concerns_the_buckets_of_the_tab(collective, coordinator, member, make_round,
                                                               make_bucket):
    round = make_round()
    buckets = add_buckets(round, coordinator, BUCKETS_PER_PAGE + 3)
    client = client_for(member)
    seen = seen_of(client.get(round_url(round)).content.decode())
    services.allocation_create(bucket=buckets[-1], actor=coordinator, amount="30.00")  # on page 2
    assert client.get(round_url(round, "live/"), {"seen": seen}).status_code == 204
    # Buckets of another round, a draft of someone else or too many ids are not answered for.
    other = make_round(name="Autre")
    foreign = add_buckets(other, coordinator, 1, first=900)[0]
    draft = make_bucket(round, title="Brouillon", propose=False)
    html = client.get(round_url(round, "live/"),
                      {"seen": f"w.x-{foreign.pk}.x-{draft.pk}.x-{buckets[-1].pk}.x"}).content.decode()
    assert re.findall(r'id="funding-(\d+)"', html) == [str(buckets[-1].pk)]
    crowded = "-".join(f"{b.pk}.x" for b in reversed(buckets))
    html = client.get(round_url(round, "live/"), {"seen": crowded}).content.decode()
    assert len(re.findall(r'id="funding-(\d+)"', html)) == BUCKETS_PER_PAGE


def test_hidden_allocations_never_show_in_the_live_refresh_nor_move_it(collective, coordinator, member, people,
                                                                       make_round):
    round = make_round(hide_allocations_until_close=True)
    bucket = add_buckets(round, coordinator, 1)[0]
    services.allocation_create(bucket=bucket, actor=member, amount="12.00")
    viewer = client_for(people[3])
    seen = seen_of(viewer.get(round_url(round)).content.decode())
    html = viewer.get(round_url(round, "live/"), {"seen": f"{seen.split('-')[0]}-{bucket.pk}.x"}).content.decode()
    assert "data-funded=\"12.00\"" in html and "funder" not in html and "Bob" not in html
    # Bob takes 2 back and Alice gives 2: the total is the same, so the onlooker's tab learns nothing new.
    services.allocation_create(bucket=bucket, actor=member, amount="-2.00")
    services.allocation_create(bucket=bucket, actor=coordinator, amount="2.00")
    assert viewer.get(round_url(round, "live/"), {"seen": seen}).status_code == 204


def test_the_bucket_page_polls_for_its_bucket_alone(collective, coordinator, member, make_round):
    round = make_round()
    bucket = add_buckets(round, coordinator, 3)[1]
    client = client_for(member)
    html = client.get(f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/").content.decode()
    seen = seen_of(html)
    assert seen.split("-")[1].startswith(f"{bucket.pk}.") and len(seen.split("-")) == 2
    assert client.get(round_url(round, "live/"), {"seen": seen}).status_code == 204
    services.allocation_create(bucket=bucket, actor=coordinator, amount="30.00")
    assert f'id="funding-{bucket.pk}"' in client.get(round_url(round, "live/"), {"seen": seen}).content.decode()


def test_the_live_refresh_costs_the_same_queries_at_3_and_60_buckets(collective, coordinator, member, people,
                                                                     make_round, django_assert_max_num_queries):
    round = make_round()
    client = client_for(member)
    add_buckets(round, coordinator, 3)
    seen = seen_of(client.get(round_url(round)).content.decode())
    with django_assert_max_num_queries(12) as few:
        assert client.get(round_url(round, "live/"), {"seen": seen}).status_code == 204
    few = len(few.captured_queries)  # read now: the next request empties the connection's log
    buckets = add_buckets(round, coordinator, 57, first=3)
    for bucket in buckets[:10]:
        for person in people[:3]:
            services.allocation_create(bucket=bucket, actor=person, amount="1.00")
    seen = seen_of(client.get(round_url(round)).content.decode())
    services.allocation_create(bucket=buckets[0], actor=coordinator, amount="1.00")
    with django_assert_max_num_queries(few):
        changed = client.get(round_url(round, "live/"), {"seen": seen})
    assert changed.status_code == 200 and len(re.findall(r'id="funding-', changed.content.decode())) == 1
    with django_assert_max_num_queries(few):
        assert client.get(round_url(round, "live/"), {"seen": seen_of(changed.content.decode())}).status_code == 204


@pytest.mark.parametrize("seen", ["", "junk", "-" * 5000, "9" * 5000 + ".x", "w", "1.2.3-..-w.", "\u00b2.x"])
def test_odd_seen_values_never_break_the_live_refresh(collective, member, make_round, seen):
    round = make_round()
    assert client_for(member).get(round_url(round, "live/"), {"seen": seen}).status_code in (200, 204)


@pytest.mark.parametrize(("name", "value"), [("q", "x" * 5000), ("q", "%\\_'"), ("sort", "\x07"), ("page", "9" * 5000),
                                             ("page", "-1")])
def test_odd_queries_never_break_the_round_page(collective, member, make_round, coordinator, name, value):
    round = make_round()
    add_buckets(round, coordinator, 3)
    assert client_for(member).get(round_url(round), {name: value}).status_code == 200
