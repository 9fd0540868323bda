"""Cobudget's lines in "what waits for me" on the home page: money left, questions, approvals."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import override

from cobudget import services
from cobudget.models import CommentKind
from members.selectors import waiting_items


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def titles(user) -> list[str]:
    with override("en"):
        return [item.title for item in waiting_items(user)]


def test_bob_sees_on_his_home_page_what_his_wallet_still_holds_in_an_open_round(collective, member, make_round,
                                                                                  make_bucket):
    round = make_round(name="Cobudget de printemps", funding_closes_at=timezone.now() + timedelta(days=30))
    services.allocation_create(bucket=make_bucket(round), actor=member, amount="40.00")
    html = logged_in(member).get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Il reste 60,00\xa0€ dans votre portefeuille de Cobudget de printemps (le financement se clôt le " in html
    assert f'href="/c/{collective.slug}/cobudget/{round.pk}/"' in html


def test_an_empty_wallet_a_closed_round_or_a_round_not_yet_funding_waits_for_nobody(member, make_round, make_bucket,
                                                                                      coordinator):
    spent = make_round(name="Spent")
    services.allocation_create(bucket=make_bucket(spent, max_goal="100.00"), actor=member, amount="100.00")
    closed = make_round(name="Closed")
    services.round_close(round=closed, actor=coordinator)
    make_round(name="Later", funding_opens_at=timezone.now() + timedelta(days=3))
    assert not any("Your wallet" in title for title in titles(member))
    make_round(name="Open")
    assert [title for title in titles(member) if "Your wallet" in title] == ["Your wallet still holds €100.00 in Open"]


def test_wallets_waiting_in_many_rounds_take_a_fixed_number_of_queries(member, make_round):
    make_round(name="One")
    with CaptureQueriesContext(connection) as one:
        titles(member)
    for name in ("Two", "Three", "Four"):
        make_round(name=name, envelope_amount=Decimal("20.00"))
    with CaptureQueriesContext(connection) as four:
        assert sum("Your wallet" in title for title in titles(member)) == 4
    assert len(four) == len(one)


def test_a_carrier_sees_a_question_waiting_on_their_bucket_until_they_answer(member, coordinator, make_round,
                                                                             make_bucket):
    bucket = make_bucket(make_round(), by=member, title="Four à pain")
    services.bucket_comment(bucket=bucket, actor=coordinator, body="Quel fournisseur ?", kind=CommentKind.QUESTION)
    assert "Your bucket Four à pain has a question waiting" in titles(member)
    assert not any("question waiting" in title for title in titles(coordinator))
    services.bucket_comment(bucket=bucket, actor=member, body="La scierie du coin.")
    assert not any("question waiting" in title for title in titles(member))


def test_coordinators_see_how_many_buckets_wait_for_their_approval_per_round(coordinator, member, make_round,
                                                                             make_bucket):
    round = make_round(name="Printemps", bucket_approval_required=True)
    make_bucket(round, by=member, title="A")
    make_bucket(round, by=member, title="B")
    make_bucket(make_round(name="Free"), by=member, title="C")
    assert "2 buckets wait for your approval in Printemps" in titles(coordinator)
    assert not any("approval" in title for title in titles(member))
