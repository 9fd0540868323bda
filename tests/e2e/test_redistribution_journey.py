"""A round that redistributes, in a browser: the coordinator closes its first window, a member finds what a bucket
below its minimum gave back in his wallet and gives it to a bucket not yet full, then the final close."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from cobudget import services
from cobudget.models import Bucket, BucketStatus, Round, RoundStatus
from members.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_bucket(round, actor, title, minimum, maximum=None):
    return services.bucket_propose(actor=actor, bucket=services.bucket_create(
        round=round, actor=actor, title=title, lines=[{"min_amount": minimum, "max_amount": maximum}]))


def test_first_close_refund_given_again_then_final_close(new_context, login, collective, coordinator, member):
    gaelle = MembershipFactory(collective=collective, user=UserFactory(email="gaelle@example.org", name="Gaelle"),
                               roles=[Role.MEMBER.value]).user
    for person in (coordinator, member):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    round = services.round_open(round=services.round_create(
        collective=collective, actor=coordinator, name="Second souffle", envelope_amount=Decimal("100.00"),
        partial_policy="redistribute", redistribution_hours=24, participants=[coordinator, member, gaelle]),
        actor=coordinator)
    oven = open_bucket(round, coordinator, "Four à pain", "300.00")
    benches = open_bucket(round, coordinator, "Bancs", "50.00", "120.00")
    statue = open_bucket(round, coordinator, "Statue", "30.00")
    services.allocation_create(bucket=oven, actor=member, amount="70.00")
    services.allocation_create(bucket=benches, actor=gaelle, amount="60.00")
    services.allocation_create(bucket=statue, actor=coordinator, amount="30.00")

    # Alice closes the first window; the dialog says what it does.
    alice = new_context().new_page()
    login(alice, coordinator.email)
    alice.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    alice.get_by_role("button", name="Close the first window").click()
    confirm = alice.locator("#confirm-dialog")
    expect(confirm).to_contain_text("1 bucket is below its minimum: its €70.00 go back to its funders' wallets.")
    expect(confirm).to_contain_text("Then a second window of 24 hours opens")
    confirm.locator("#confirm-dialog-ok").click()
    expect(alice.locator(".message.success")).to_contain_text(
        "First window closed: €70.00 from 1 bucket below its minimum went back to the wallets.")
    expect(alice.locator(".cb-second-window")).to_contain_text("only buckets still open and not yet full can receive")
    expect(alice.get_by_role("button", name="Close the round")).to_be_visible()

    # Bob finds his €70.00 back in his wallet and gives it to the benches, not yet full.
    bob = new_context().new_page()
    login(bob, member.email)
    bob.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    expect(bob.locator(".cb-second-window")).to_contain_text("Second window, until")
    expect(bob.locator("#wallet")).to_contain_text("€70.00")
    bob.goto(f"/c/{collective.slug}/cobudget/buckets/{benches.pk}/")
    give = bob.locator(f"#give-{benches.pk}")
    give.locator(f"#amount-{benches.pk}").fill("60")
    give.get_by_role("button", name="Give").click()
    expect(bob.locator(".cb-outcome")).to_have_text("You gave €60.00.")
    expect(bob.locator("#wallet")).to_contain_text("€10.00")
    # The full statue and the oven (it ended unfunded) take nothing more.
    for bucket in (statue, oven):
        bob.goto(f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/")
        expect(bob.locator(f"#amount-{bucket.pk}")).to_have_count(0)

    # Alice's close in the second window is the final close.
    alice.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    alice.get_by_role("button", name="Close the round").click()
    alice.locator("#confirm-dialog #confirm-dialog-ok").click()
    alice.wait_for_url(f"**/cobudget/{round.pk}/results/")
    expect(alice.locator(".message.success")).to_contain_text("Round closed: 2 buckets funded")
    assert Round.objects.get(pk=round.pk).status == RoundStatus.CLOSED
    assert Bucket.objects.get(pk=benches.pk).status == BucketStatus.FUNDED
    assert Bucket.objects.get(pk=oven.pk).status == BucketStatus.UNFUNDED
