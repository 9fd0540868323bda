"""Delegate and revoke, in a browser: Alice delegates her wallet to Bob by typing his name, Bob sees both wallets
and gives from each on a bucket's page, Alice takes her wallet back and Bob can no longer give from it."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from cobudget import services
from cobudget.models import Allocation, Wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_delegate_give_from_both_wallets_and_take_it_back(new_context, login, collective, coordinator, member):
    for person in (coordinator, member):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    round = services.round_open(round=services.round_create(
        collective=collective, actor=coordinator, name="Printemps", envelope_amount=Decimal("100.00"),
        participants=[coordinator, member]), actor=coordinator)
    bucket = services.bucket_propose(actor=coordinator, bucket=services.bucket_create(
        round=round, actor=coordinator, title="Four à pain", lines=[{"min_amount": "300.00", "max_amount": None}]))

    # Alice delegates her wallet to Bob, typing his name.
    alice = new_context().new_page()
    login(alice, coordinator.email)
    alice.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    alice.get_by_label("Delegate my wallet to").fill("Bob")
    alice.get_by_role("button", name="Delegate my wallet").click()
    expect(alice.locator(".message.success")).to_contain_text("Bob can now give from your wallet")
    expect(alice.locator(".cb-delegated-to")).to_contain_text("Bob can give from your wallet until you take it back")

    # Bob sees both wallets, and gives from Alice's, then from his own, on the bucket's page.
    bob = new_context().new_page()
    login(bob, member.email)
    bob.goto(f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/")
    expect(bob.locator("#wallet")).to_contain_text("Wallet of Alice (delegated to you): €100.00")
    give = bob.locator(f"#give-{bucket.pk}")
    give.get_by_label("From the wallet of").select_option(label="Alice")
    give.locator(f"#amount-{bucket.pk}").fill("30")
    give.get_by_role("button", name="Give").click()
    expect(bob.locator(".cb-outcome")).to_have_text("You gave €30.00 on behalf of Alice.")
    expect(bob.locator("#wallet")).to_contain_text("Wallet of Alice (delegated to you): €70.00")
    give = bob.locator(f"#give-{bucket.pk}")
    give.get_by_label("From the wallet of").select_option(label="Me")
    give.locator(f"#amount-{bucket.pk}").fill("20")
    give.get_by_role("button", name="Give").click()
    expect(bob.locator(".cb-outcome")).to_have_text("You gave €20.00.")
    expect(bob.locator("#wallet")).to_contain_text("My wallet: €80.00")

    # Alice takes her wallet back: what Bob gave stays given, the rest is hers.
    alice.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    alice.get_by_role("button", name="Take my wallet back").click()
    expect(alice.locator(".message.success")).to_contain_text("You took your wallet back")
    expect(alice.locator("#wallet")).to_contain_text("My wallet: €70.00")
    expect(alice.get_by_label("Delegate my wallet to")).to_be_visible()

    # Bob's page no longer offers Alice's wallet.
    bob.goto(f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/")
    expect(bob.locator("#wallet")).not_to_contain_text("Alice")
    expect(bob.locator(f"#give-{bucket.pk}").get_by_label("From the wallet of")).to_have_count(0)
    assert Allocation.objects.filter(user=coordinator, made_by=member).count() == 1
    assert Wallet.objects.select_related("account").get(round=round, user=coordinator).account.balance == Decimal(
        "70.00")
