import re
from decimal import Decimal

import pytest
from django.test import Client

from cobudget import services
from cobudget.models import Bucket, Round

D = Decimal


@pytest.fixture
def browser_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def page(collective, *parts):
    return "/".join([f"/c/{collective.slug}/cobudget", *map(str, parts)]) + "/"


def test_round_page_shows_buckets_bars_wallet_and_what_i_gave(browser_for, collective, member, make_round,
                                                             make_bucket):
    round = make_round()
    bucket = make_bucket(round, title="Four à pain", min_goal="40.00", max_goal="80.00")
    services.allocation_create(bucket=bucket, actor=member, amount="25.00")
    html = browser_for(member).get(page(collective, round.pk)).content.decode()
    assert "Four à pain" in html and f'id="funding-{bucket.pk}"' in html
    assert 'hx-trigger="every 2s"' in html
    # Money in the reader's language, with the collective's currency (French by default).
    assert 'class="cb-mine">25,00\xa0€<' in html
    assert 'class="cb-balance">75,00\xa0€<' in html and "100,00\xa0€" in html


def test_the_live_fragment_swaps_every_bar_out_of_band(browser_for, collective, member, coordinator, make_round,
                                                       make_bucket):
    round = make_round()
    bucket = make_bucket(round)
    client = browser_for(member)
    shown = client.get(page(collective, round.pk)).content.decode()
    seen = shown.split('id="cb-seen" name="seen" value="')[1].split('"')[0]
    services.allocation_create(bucket=bucket, actor=coordinator, amount="30.00")
    html = client.get(page(collective, round.pk, "live"), {"seen": seen}).content.decode()
    assert f'id="funding-{bucket.pk}" hx-swap-oob="true" data-funded="30.00"' in html
    # Only what moved comes: Bob's wallet did not, until he gives.
    assert 'id="wallet"' not in html
    services.allocation_create(bucket=bucket, actor=member, amount="5.00")
    html = client.get(page(collective, round.pk, "live"), {"seen": seen}).content.decode()
    assert 'id="wallet" hx-swap-oob="true"' in html and 'data-funded="35.00"' in html


def test_round_page_queries_do_not_grow_with_buckets_or_allocations(browser_for, collective, coordinator, people,
                                                                    make_round, make_bucket,
                                                                    django_assert_max_num_queries):
    round = make_round()
    client = browser_for(people[1])
    bucket = make_bucket(round, title="first")
    services.allocation_create(bucket=bucket, actor=people[1], amount="5.00")
    client.get(page(collective, round.pk))
    with django_assert_max_num_queries(12) as few:
        client.get(page(collective, round.pk))
    for i in range(12):
        extra = make_bucket(round, title=f"b{i}")
        for person in people[:4]:
            services.allocation_create(bucket=extra, actor=person, amount="1.00")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(page(collective, round.pk))
    assert response.content.decode().count('class="card cb-bucket"') == 13
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(page(collective, round.pk, "live"))


def test_hidden_allocations_stay_hidden_on_pages_until_the_close(browser_for, collective, coordinator, member,
                                                                 people, make_round, make_bucket):
    round = make_round(hide_allocations_until_close=True)
    bucket = make_bucket(round, title="Secret", min_goal="10.00", max_goal="50.00")
    services.allocation_create(bucket=bucket, actor=member, amount="12.00")
    for viewer in (people[3], coordinator):
        client = browser_for(viewer)
        for url in (page(collective, "buckets", bucket.pk), page(collective, round.pk),
                    page(collective, round.pk, "live"), page(collective, round.pk, "results")):
            html = client.get(url).content.decode()
            # As a word: the page's random form tokens may hold the letters "Bob".
            assert not re.search(r"\bBob\b", html.replace("bob@", "")), url
            assert "funder" not in html, url
    services.round_close(round=round, actor=coordinator)
    html = browser_for(people[3]).get(page(collective, round.pk, "results")).content.decode()
    assert "Bob (12" in html


def test_the_audit_log_hides_who_gave_what_until_the_close(browser_for, collective, coordinator, member, people,
                                                           make_round, make_bucket):
    round = make_round(hide_allocations_until_close=True)
    bucket = make_bucket(round, title="Secret", min_goal="10.00", max_goal="50.00")
    services.allocation_create(bucket=bucket, actor=member, amount="12.00")
    audit = f"/c/{collective.slug}/audit/"
    html = browser_for(coordinator).get(audit, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html[html.index("money allocated to a bucket"):][:600]
    assert "Bob" not in row and "12.00" not in row and "hidden until the round closes" in html
    services.round_close(round=round, actor=coordinator)
    html = browser_for(coordinator).get(audit, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "hidden until the round closes" not in html and "Bob" in html


def test_member_proposes_allocates_and_retracts_through_forms(browser_for, collective, member, make_round):
    round = make_round()
    client = browser_for(member)
    response = client.post(page(collective, round.pk, "buckets", "new"), {
        "title": "Vélos", "description": "Atelier", "propose": "1",
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Outils", "lines-0-min_amount": "40.00", "lines-0-max_amount": "60.00",
    })
    bucket = Bucket.objects.get(title="Vélos")
    assert response.status_code == 302 and bucket.status == "open" and bucket.max_goal == D("60.00")
    allocate = page(collective, "buckets", bucket.pk, "allocate")
    client.post(allocate, {"amount": "70", "direction": "give"})
    assert services.selectors.bucket_funded_amount(Bucket.objects.get(pk=bucket.pk)) == 0
    client.post(allocate, {"amount": "20", "direction": "give"})
    client.post(allocate, {"amount": "5", "direction": "retract"})
    assert Bucket.objects.get(pk=bucket.pk).account.balance == D("15.00")
    html = client.get(page(collective, "buckets", bucket.pk)).content.decode()
    assert "Vélos" in html


def test_coordinator_sets_up_opens_and_closes_a_round_from_pages(browser_for, collective, coordinator, people):
    client = browser_for(coordinator)
    response = client.post(page(collective, "new"), {
        "name": "Été", "envelope_policy": "equal", "envelope_amount": "40.00", "min_carriers": "1",
        "partial_policy": "refund", "partial_threshold_percent": "100", "leftover_policy": "expire",
        "overallocation_mode": "refuse", "allow_retract": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    round = Round.objects.get(name="Été")
    client.post(page(collective, round.pk, "open"))
    assert Round.objects.get(pk=round.pk).status == "open"
    response = client.post(page(collective, round.pk, "close"))
    assert response.status_code == 302 and response.url.endswith("/results/")
    assert Round.objects.get(pk=round.pk).settled_at is not None
    assert "Été" in client.get(page(collective)).content.decode()


def test_members_cannot_reach_coordinator_pages(browser_for, collective, member, make_round):
    round = make_round(open=False)
    client = browser_for(member)
    assert client.get(page(collective, "new")).status_code == 403
    assert client.post(page(collective, round.pk, "open")).status_code == 403
    assert Round.objects.get(pk=round.pk).status == "draft"


def test_comment_and_flag_from_the_bucket_page(browser_for, collective, member, make_round, make_bucket):
    round = make_round()
    bucket = make_bucket(round)
    client = browser_for(member)
    client.post(page(collective, "buckets", bucket.pk, "comment"), {"kind": "question", "body": "Pourquoi ?"})
    client.post(page(collective, "buckets", bucket.pk, "flag"), {"reason": "Règle 1"})
    html = client.get(page(collective, "buckets", bucket.pk)).content.decode()
    assert "Pourquoi ?" in html and "Règle 1" in html


def test_funded_bucket_becomes_an_envelope_of_a_new_budget(browser_for, collective, coordinator, member,
                                                           make_round, make_bucket):
    from budgets.models import Account, Envelope

    round = make_round()
    bucket = make_bucket(round, title="Four", min_goal="30.00", max_goal="60.00")
    services.allocation_create(bucket=bucket, actor=member, amount="45.00")
    services.round_close(round=round, actor=coordinator)
    client = browser_for(coordinator)
    assert "Turn into an envelope" in client.get(page(collective, round.pk, "results")).content.decode() or \
        "Transformer en enveloppe" in client.get(page(collective, round.pk, "results")).content.decode()
    response = client.post(page(collective, "buckets", bucket.pk, "envelope"), {"new_budget_name": "Four à pain"})
    assert response.status_code == 302
    bucket = Bucket.objects.get(pk=bucket.pk)
    envelope = Envelope.objects.get(pk=bucket.envelope_id)
    assert envelope.amount == D("45.00") and envelope.budget.name == "Four à pain"
    assert Account.objects.get(pk=bucket.account_id).balance == 0
    assert Account.objects.get(code=f"budget:{envelope.budget_id}:received").balance == D("45.00")
    assert services.selectors.bucket_funded_amount(bucket) == D("45.00")
    with pytest.raises(services.Conflict):
        services.bucket_to_envelope(bucket=bucket, actor=coordinator, new_budget_name="Again")


def test_a_refusal_for_lack_of_rights_answers_403_on_pages_as_in_the_api(browser_for, collective, coordinator,
                                                                        member, make_round, make_bucket):
    round = make_round(bucket_approval_required=True)
    bucket = make_bucket(round, by=member)
    assert bucket.status == "proposed"
    response = browser_for(member).post(page(collective, "buckets", bucket.pk, "action", "approve"))
    assert response.status_code == 403
    bucket.refresh_from_db()
    assert bucket.status == "proposed"
