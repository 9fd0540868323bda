"""An Equal Shares round in a browser: a member supports buckets with a score and takes one support back, the
coordinator closes the round, and the results page explains who paid what and what a left-out bucket lacked."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from cobudget import services
from members.models import Role
from tests.factories import MembershipFactory, UserFactory

from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_bucket(round, actor, title, cost):
    return services.bucket_propose(actor=actor, bucket=services.bucket_create(
        round=round, actor=actor, title=title, lines=[{"min_amount": cost, "max_amount": None}]))


def test_members_support_buckets_and_the_results_explain_the_close(new_context, login, collective, coordinator,
                                                                   member):
    gaelle, hugo = (MembershipFactory(collective=collective, user=UserFactory(email=f"{name}@example.org",
                                                                              name=name.title()),
                                      roles=[Role.MEMBER.value]).user for name in ("gaelle", "hugo"))
    for person in (coordinator, member):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    round = services.round_create(collective=collective, actor=coordinator, name="Équitable", mode="equal_shares",
                                  total_amount=Decimal("400.00"), allow_scores=True, mes_completion="none",
                                  participants=[coordinator, member, gaelle, hugo])
    services.round_open(round=round, actor=coordinator)
    oven, benches, statue = (open_bucket(round, coordinator, title, cost)
                             for title, cost in (("Four à pain", "300.00"), ("Bancs", "100.00"), ("Statue", "200.00")))
    for person in (coordinator, gaelle):
        services.bucket_support(bucket=oven, actor=person, score=5)
    for bucket in (benches, statue):
        services.bucket_support(bucket=bucket, actor=hugo, score=5)

    # Bob, on his phone: no wallet and no amount to give, a score to pick and a Support button.
    bob = new_context(**PHONE).new_page()
    login(bob, member.email)
    bob.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    expect(bob.locator(".cb-mode")).to_contain_text("Equal Shares round")
    expect(bob.locator(".cb-rules")).to_contain_text("Ties are broken by the earliest proposal.")
    expect(bob.locator("#wallet")).to_have_count(0)
    expect(bob.locator(f"#amount-{oven.pk}")).to_have_count(0)
    bob.select_option(f"#score-{oven.pk}", "5")
    bob.click(f"#bucket-{oven.pk} button:has-text('Support')")
    expect(bob.locator(f"#bucket-{oven.pk} .cb-my-support")).to_contain_text("a score of 5 out of 5")
    # He supports the benches too, then thinks better of it.
    bob.click(f"#bucket-{benches.pk} button:has-text('Support')")
    expect(bob.locator(f"#bucket-{benches.pk} .cb-my-support")).to_be_visible()
    bob.click(f"#bucket-{benches.pk} button:has-text('Withdraw my support')")
    expect(bob.locator(".message.success")).to_contain_text("You no longer support “Bancs”.")
    expect(bob.locator(f"#bucket-{benches.pk} .cb-my-support")).to_have_count(0)

    # Alice closes the round; the dialog says what the close does.
    alice = new_context().new_page()
    login(alice, coordinator.email)
    alice.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    alice.click("text=Close the round")
    confirm = alice.locator("#confirm-dialog")
    expect(confirm).to_contain_text("the Method of Equal Shares then shares €400.00 out")
    confirm.locator("#confirm-dialog-ok").click()
    alice.wait_for_url(f"**/cobudget/{round.pk}/results/")
    expect(alice.locator(".message.success")).to_contain_text("Equal Shares selected 2 buckets, €400.00 of €400.00")

    # Each of the oven's three supporters paid a third; the statue's lone supporter had spent his part.
    bob.goto(f"/c/{collective.slug}/cobudget/{round.pk}/results/")
    result = bob.locator(f"#result-{oven.pk}")
    expect(result.locator(".badge")).to_have_text("selected")
    expect(result.locator(".cb-supporters")).to_have_text("3 supporters")
    expect(result.locator(".cb-shares")).to_contain_text("Bob (€100.00)")
    expect(bob.locator(f"#result-{benches.pk} .cb-shares")).to_contain_text("Hugo (€100.00)")
    left_out = bob.locator(f"#result-{statue.pk}")
    expect(left_out.locator(".badge")).to_have_text("not selected")
    expect(left_out.locator(".cb-missing")).to_have_text("€200.00")
    expect(bob.locator(".cb-spent")).to_have_text("€400.00")
    expect(bob.locator(".cb-ties")).to_contain_text("Broken by the earliest proposal.")
