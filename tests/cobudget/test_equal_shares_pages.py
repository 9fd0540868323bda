"""The pages of Equal Shares rounds: set-up in that mode, supporting and withdrawing through the pages, a live
round unchanged, and the results page explaining the close in figures."""

import re
from decimal import Decimal as D

import pytest
from django.test import Client

from cobudget import services
from cobudget.models import BucketSupport, Round, RoundMode

from .helpers import open_bucket

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_for():
    def make(user):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        return client

    return make


def page(collective, *parts):
    return "/".join([f"/c/{collective.slug}/cobudget", *map(str, parts)]) + "/"


def test_the_set_up_page_creates_an_equal_shares_round_without_envelope_fields(browser_for, collective, coordinator):
    client = browser_for(coordinator)
    html = client.get(page(collective, "new")).content.decode()
    assert 'name="mode" value="equal_shares"' in html
    assert re.search(r'id="field-total_amount" data-when="mode" data-values="equal_shares"', html)
    assert re.search(r'id="field-envelope_amount" data-when="envelope_policy" data-values="equal weighted" '
                     r'data-and-when="mode" data-and-values="live"', html)
    # Without JavaScript every field is sent: the envelope's, even nonsense, is neither required nor kept.
    response = client.post(page(collective, "new"), {
        "name": "Équitable", "mode": "equal_shares", "total_amount": "500.00", "allow_scores": "on",
        "mes_completion": "utilitarian", "tie_rule": "draw", "envelope_policy": "equal", "envelope_amount": "abc",
        "partial_policy": "refund", "leftover_policy": "expire", "overallocation_mode": "refuse",
        "min_carriers": "1", "partial_threshold_percent": "80", "status_seen": "draft",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    round = Round.objects.get(name="Équitable")
    assert (round.mode, round.total_amount, round.allow_scores, round.mes_completion, round.tie_rule) == (
        RoundMode.EQUAL_SHARES, D("500.00"), True, "utilitarian", "draw")
    assert round.envelope_amount is None
    html = client.get(page(collective, round.pk)).content.decode()
    assert "Equal Shares round" in html and "Ties are broken by a draw, recorded in the audit log." in html
    assert 'id="wallet"' not in html


def test_a_live_round_keeps_its_envelope_and_clears_the_total(browser_for, collective, coordinator):
    response = browser_for(coordinator).post(page(collective, "new"), {
        "name": "Vivant", "mode": "live", "total_amount": "500.00", "envelope_policy": "equal",
        "envelope_amount": "100.00", "partial_policy": "refund", "leftover_policy": "expire",
        "overallocation_mode": "refuse", "min_carriers": "1", "partial_threshold_percent": "80",
        "mes_completion": "add_one", "tie_rule": "earliest", "status_seen": "draft",
    })
    assert response.status_code == 302
    round = Round.objects.get(name="Vivant")
    assert (round.mode, round.envelope_amount, round.total_amount) == (RoundMode.LIVE, D("100.00"), None)


def test_support_and_withdraw_through_the_pages(browser_for, collective, coordinator, member, shares_round,
                                                django_assert_max_num_queries):
    round = shares_round()
    buckets = [open_bucket(round, coordinator, f"Projet {n}", "100.00") for n in range(3)]
    client = browser_for(member)
    html = client.get(page(collective, round.pk)).content.decode()
    assert html.count('action="' + page(collective, "buckets", buckets[0].pk, "support")) == 1
    assert 'name="score"' not in html and 'name="amount"' not in html  # no scores here, no giving
    assert 'hx-trigger="every 2s"' not in html
    response = client.post(page(collective, "buckets", buckets[0].pk, "support"),
                           {"next": page(collective, round.pk)})
    assert response.status_code == 302 and response["Location"].endswith(f"#bucket-{buckets[0].pk}")
    assert BucketSupport.objects.get(bucket=buckets[0], user=member).score == 1
    html = client.get(page(collective, round.pk)).content.decode()
    assert "You support “Projet 0”." in html and "You support it." in html
    assert page(collective, "buckets", buckets[0].pk, "support", "withdraw") in html
    # The reader's supports for the page's buckets come in one query, however many buckets there are.
    more = [open_bucket(round, coordinator, f"Autre {n}", "10.00") for n in range(5)]
    for bucket in more:
        services.bucket_support(bucket=bucket, actor=member)
    with django_assert_max_num_queries(30) as queries:
        client.get(page(collective, round.pk))
    assert sum("cobudget_bucketsupport" in query["sql"] for query in queries.captured_queries) == 1
    client.post(page(collective, "buckets", buckets[0].pk, "support", "withdraw"))
    assert not BucketSupport.objects.filter(bucket=buckets[0], user=member).exists()
    html = client.get(page(collective, "buckets", buckets[0].pk)).content.decode()
    assert "You no longer support “Projet 0”." in html and "Withdraw my support" not in html
    assert "My wallet" not in html


def test_a_score_is_refused_where_the_round_has_none_and_kept_where_it_has(browser_for, collective, coordinator,
                                                                         member, shares_round):
    round = shares_round()
    bucket = open_bucket(round, coordinator, "Four", "100.00")
    client = browser_for(member)
    client.post(page(collective, "buckets", bucket.pk, "support"), {"score": "3"})
    assert not BucketSupport.objects.filter(bucket=bucket).exists()
    assert "This round does not use scores: support is 1." in client.get(
        page(collective, "buckets", bucket.pk)).content.decode()
    client.post(page(collective, "buckets", bucket.pk, "support"), {"score": "abc"})
    assert "Give a score from 1 to 5." in client.get(page(collective, "buckets", bucket.pk)).content.decode()

    scored = shares_round(allow_scores=True)
    other = open_bucket(scored, coordinator, "Bancs", "50.00")
    assert 'name="score"' in client.get(page(collective, scored.pk)).content.decode()
    client.post(page(collective, "buckets", other.pk, "support"), {"score": "4"})
    html = client.get(page(collective, "buckets", other.pk)).content.decode()
    assert "with a score of <strong>4</strong> out of 5" in html and '<option value="4" selected>' in html
    client.post(page(collective, "buckets", other.pk, "support"), {"score": "9"})
    assert BucketSupport.objects.get(bucket=other, user=member).score == 4


def test_onlookers_and_closed_windows_offer_no_support(browser_for, collective, coordinator, member, accountant,
                                                      shares_round):
    round = shares_round()
    bucket = open_bucket(round, coordinator, "Four", "100.00")
    html = browser_for(accountant).get(page(collective, round.pk)).content.decode()
    assert "cb-onlooker" in html and "/support/" not in html
    browser_for(accountant).post(page(collective, "buckets", bucket.pk, "support"))
    assert not BucketSupport.objects.exists()
    services.round_close(round=round, actor=coordinator)
    assert "/support/" not in browser_for(member).get(page(collective, "buckets", bucket.pk)).content.decode()


def test_a_live_round_is_unchanged(browser_for, collective, member, make_round, make_bucket):
    round = make_round()
    bucket = make_bucket(round, title="Four à pain")
    html = browser_for(member).get(page(collective, round.pk)).content.decode()
    assert 'name="amount"' in html and 'class="cb-balance"' in html and 'hx-trigger="every 2s"' in html
    assert "/support/" not in html and "Equal Shares" not in html
    browser_for(member).post(page(collective, "buckets", bucket.pk, "support"))
    assert not BucketSupport.objects.exists()


def test_the_results_page_explains_the_close(browser_for, collective, coordinator, people, shares_round,
                                             django_assert_max_num_queries):
    round = shares_round(mes_completion="none")
    big, small, unloved = (open_bucket(round, coordinator, title, cost)
                           for title, cost in (("Four", "300.00"), ("Bancs", "100.00"), ("Statue", "200.00")))
    for voter in people[:3]:
        services.bucket_support(bucket=big, actor=voter)
    services.bucket_support(bucket=small, actor=people[3])
    services.bucket_support(bucket=unloved, actor=people[3])
    client = browser_for(coordinator)
    response = client.post(page(collective, round.pk, "close"))
    assert response["Location"] == page(collective, round.pk, "results")
    with django_assert_max_num_queries(25):
        html = client.get(page(collective, round.pk, "results")).content.decode()
    assert "Round closed: Equal Shares selected 2 buckets, €400.00 of €400.00" in html
    assert 'class="cb-spent">€400.00<' in html and "€0.00, back to the round" in html
    assert "Broken by the earliest proposal." in html and "cb-seed" not in html
    four = html.split(f'id="result-{big.pk}"')[1].split("</li>")[0]
    assert "selected" in four and "3 supporters" in four and 'class="cb-cost">€300.00<' in four
    assert "Alice (€100.00)" in four and "Bob (€100.00)" in four and "Gaelle (€100.00)" in four
    statue = html.split(f'id="result-{unloved.pk}"')[1].split("</li>")[0]
    assert "not selected" in statue and 'class="cb-missing">€200.00<' in statue and "Supported by Hugo" in statue


def test_a_draw_shows_its_seed(browser_for, collective, coordinator, people, shares_round):
    round = shares_round(tie_rule="draw")
    bucket = open_bucket(round, coordinator, "Four", "100.00")
    services.bucket_support(bucket=bucket, actor=people[1])
    closed = services.round_close(round=round, actor=coordinator)
    html = browser_for(people[1]).get(page(collective, round.pk, "results")).content.decode()
    assert f'<code class="cb-seed">{closed.results["tie_seed"]}</code>' in html
