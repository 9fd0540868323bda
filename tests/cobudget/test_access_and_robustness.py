"""Who may see a bucket (drafts, images), refused uploads, robust closes and allocations."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from budgets.models import Account
from cobudget import services
from cobudget.models import BUCKET_IMAGE_MAX_BYTES, Bucket, Round, RoundStatus, Wallet
from cobudget.services import closing
from contrib_budget.errors import Conflict, DomainError
from members.models import Role
from tests.factories import CollectiveFactory, MembershipFactory, UserFactory
from tests.files import png_bytes

D = Decimal
PNG = png_bytes()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(collective, *parts) -> str:
    return "/".join([f"/c/{collective.slug}/cobudget", *map(str, parts)]) + "/"


def api_url(collective, *parts) -> str:
    return "/".join([f"/api/v1/collectives/{collective.slug}/buckets", *map(str, parts)]) + "/"


def image(name="oven.png", content=PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def new_bucket_form(**extra) -> dict:
    return {"title": "Four à pain", "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0",
            "lines-0-description": "Briques", "lines-0-min_amount": "40.00", **extra}


# --- drafts are their carriers' only ----------------------------------------------------------------

def test_a_draft_is_not_found_by_other_members_through_any_api_action_or_page(
        api, collective, coordinator, member, make_round, make_bucket):
    round = make_round()
    draft = make_bucket(round, by=coordinator, propose=False)
    others = api(member)
    assert others.get(api_url(collective, draft.pk)).status_code == 404
    assert others.get(api_url(collective, draft.pk, "allocations")).status_code == 404
    for bucket_id in (draft.pk, draft.pk + 1000, "abc"):
        assert others.post(api_url(collective, bucket_id, "allocations"), {"amount": "1.00"},
                           format="json").status_code == 404
    assert others.post(api_url(collective, draft.pk, "propose")).status_code == 404
    browser = logged_in(member)
    assert browser.get(page(collective, "buckets", draft.pk)).status_code == 404
    assert browser.get(page(collective, "buckets", draft.pk, "edit")).status_code == 404

    assert api(coordinator).get(api_url(collective, draft.pk)).status_code == 200
    assert logged_in(coordinator).get(page(collective, "buckets", draft.pk, "edit")).status_code == 200


# --- bucket images: random names, served only to those who may see the bucket -------------------------

def test_a_bucket_image_is_stored_under_a_random_name_and_served_to_members_only(
        collective, coordinator, member, outsider, make_round):
    round = make_round()
    response = logged_in(member).post(page(collective, round.pk, "buckets", "new"),
                                      new_bucket_form(propose="1", image=image("secret-plan.png")))
    assert response.status_code == 302
    bucket = Bucket.objects.get(title="Four à pain")
    assert "secret-plan" not in bucket.image.name and bucket.image.name.endswith(".png")
    url = page(collective, "buckets", bucket.pk, "image")

    served = logged_in(coordinator).get(url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    assert served["Content-Type"] == "image/png"
    assert url in logged_in(member).get(page(collective, "buckets", bucket.pk)).content.decode()
    assert logged_in(outsider).get(url).status_code == 404
    elsewhere = CollectiveFactory(slug="elsewhere")
    MembershipFactory(collective=elsewhere, user=outsider, roles=[Role.MEMBER.value])
    assert logged_in(outsider).get(page(elsewhere, "buckets", bucket.pk, "image")).status_code == 404
    assert Client().get(url).status_code != 200


def test_the_image_of_a_draft_is_not_served_to_members_who_do_not_carry_it(collective, coordinator, member,
                                                                         make_round):
    round = make_round()
    draft = services.bucket_create(round=round, actor=coordinator, title="Plan",
                                   lines=[{"min_amount": "10.00"}], image=image())
    url = page(collective, "buckets", draft.pk, "image")
    assert logged_in(member).get(url).status_code == 404
    assert logged_in(coordinator).get(url).status_code == 200


def test_the_api_gives_the_permission_checked_image_address_not_the_media_file(api, collective, member, make_round):
    round = make_round()
    bucket = services.bucket_create(round=round, actor=member, title="Plan", lines=[{"min_amount": "10.00"}],
                                    image=image())
    body = api(member).get(api_url(collective, bucket.pk)).json()
    assert body["image"].endswith(page(collective, "buckets", bucket.pk, "image"))


@pytest.mark.parametrize("upload,error", [
    (image("page.html", b"<script>alert(1)</script>"), "File extension"),
    (image("huge.png", PNG + b"\0" * BUCKET_IMAGE_MAX_BYTES), "too large"),
])
def test_a_page_form_refuses_a_bad_image_with_a_message_and_saves_nothing(collective, member, make_round,
                                                                         upload, error):
    round = make_round()
    response = logged_in(member).post(page(collective, round.pk, "buckets", "new"),
                                      new_bucket_form(image=upload), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and error in response.content.decode()
    assert not Bucket.objects.exists()


def test_the_services_refuse_a_bad_image_whoever_calls_them(member, make_round, make_bucket):
    round = make_round()
    with pytest.raises(DomainError) as refused:
        services.bucket_create(round=round, actor=member, title="Plan", lines=[{"min_amount": "10.00"}],
                               image=image("run.exe", b"MZ"))
    assert refused.value.code == "invalid_image" and not Bucket.objects.exists()
    bucket = make_bucket(round, by=member)
    with pytest.raises(DomainError):
        services.bucket_update(bucket=bucket, actor=member,
                               image=image("huge.png", b"\0" * (BUCKET_IMAGE_MAX_BYTES + 1)))
    assert not Bucket.objects.get(pk=bucket.pk).image


# --- the close, bucket creation and allocation posts -----------------------------------------------

def test_one_round_that_cannot_close_does_not_keep_the_other_due_rounds_open(make_round, monkeypatch, caplog):
    past = timezone.now() - timedelta(minutes=1)
    stuck = make_round(name="Stuck", funding_closes_at=past)
    due = make_round(name="Due", funding_closes_at=past)
    real_close = services.round_close

    def close(*, round, actor=None):
        if round.pk == stuck.pk:
            raise Conflict("cannot close", "stuck")
        return real_close(round=round, actor=actor)

    monkeypatch.setattr(closing, "round_close", close)
    with caplog.at_level(logging.ERROR, logger="cobudget.services"):
        assert services.rounds_close_due() == [due.pk]
    assert Round.objects.get(pk=due.pk).status == RoundStatus.CLOSED
    assert f"round {stuck.pk} could not be closed" in caplog.text


def test_a_bucket_cannot_be_created_from_a_stale_round_that_has_since_closed(coordinator, make_round):
    round = make_round()
    stale = Round.objects.get(pk=round.pk)
    services.round_close(round=round, actor=coordinator)
    with pytest.raises(Conflict) as refused:
        services.bucket_create(round=stale, actor=coordinator, title="Late", lines=[{"min_amount": "10.00"}])
    assert refused.value.code == "round_closed" and not Bucket.objects.exists()


def test_an_allocation_post_with_a_round_that_is_not_an_id_is_a_bad_request(collective, member, make_round,
                                                                            make_bucket):
    bucket = make_bucket(make_round())
    response = logged_in(member).post(page(collective, "buckets", bucket.pk, "allocate"),
                                      {"amount": "10", "round": "abc"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "round" in response.content.decode()
    assert Account.objects.get(pk=bucket.account_id).balance == D("0.00")


# --- opening a round stays a handful of queries ------------------------------------------------------

def _round_with(collective, coordinator, count: int) -> Round:
    people = [MembershipFactory(collective=collective, user=UserFactory(), roles=[Role.MEMBER.value]).user
              for _ in range(count)]
    return services.round_create(collective=collective, actor=coordinator, name=f"R{count}",
                                 envelope_policy="equal", envelope_amount=D("10.00"), participants=people)


@pytest.mark.parametrize("count", [10, 100])
def test_opening_a_round_creates_wallets_in_bulk_for_10_or_100_participants(
        collective, coordinator, django_assert_max_num_queries, count):
    round = _round_with(collective, coordinator, count)
    # Wallets, their accounts and the ledger's balance updates are all set-based: the same 26 queries for 10 or
    # 100 participants (one reads the actor's roles, contrib_budget.permissions).
    with django_assert_max_num_queries(26), translation.override("fr"):
        services.round_open(round=round, actor=coordinator)
    wallets = Wallet.objects.filter(round=round).select_related("account", "user")
    assert wallets.count() == count
    assert all(w.account.balance == D("10.00") and w.account.kind == "wallet" for w in wallets)
    # Named by data, not in the language of whoever opened the round.
    assert {w.account.name for w in wallets} == {f"{w.user.display_name} · R{count}" for w in wallets}
    with pytest.raises(Conflict):
        services.round_open(round=round, actor=coordinator)
    assert Wallet.objects.filter(round=round).count() == count
