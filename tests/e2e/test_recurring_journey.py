"""Recurring rounds in a browser: the coordinator saves a round as a template, a carrier keeps their bucket for the
next round, the round closes with it unfunded, and the next round, made now from the template, proposes it again."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from budgets.ledger import account_get_or_create, transaction_post
from budgets.models import AccountKind
from cobudget import services
from cobudget.models import Bucket, Round, RoundTemplate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_round_saved_as_a_template_makes_the_next_one_with_the_kept_bucket(new_context, login, collective,
                                                                             coordinator, member):
    for person in (coordinator, member):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    source = account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="e2e:grant",
                                   name="Grant")
    transaction_post(collective=collective, kind="test_pool", memo="pool",
                     legs=[(source, Decimal("-500.00")), (services.pool_account(collective), Decimal("500.00"))])
    spring = services.round_create(collective=collective, actor=coordinator, name="Spring", envelope_policy="equal",
                                   envelope_amount=Decimal("50.00"), participants=[coordinator, member],
                                   guidelines="Useful to the neighbourhood.")
    services.round_open(round=spring, actor=coordinator)
    garden = services.bucket_propose(bucket=services.bucket_create(
        round=spring, actor=member, title="Roof garden", lines=[{"description": "Boxes", "min_amount": "400.00"}]),
        actor=member)

    # Alice saves the round as a template, without a schedule: she makes its rounds when she wants.
    alice = new_context().new_page()
    login(alice, coordinator.email)
    alice.goto(f"/c/{collective.slug}/cobudget/{spring.pk}/")
    alice.click("text=Save as a template")
    alice.fill("#id_name", "Seasons")
    alice.select_option("#id_schedule", "none")
    alice.fill("#id_funding_days", "21")
    alice.click("form.cb-template-form button[type=submit]")
    template = RoundTemplate.objects.get()
    alice.wait_for_url(f"**/cobudget/templates/{template.pk}/")
    expect(alice.locator(".message.success")).to_contain_text("“Seasons” is saved as a template.")
    expect(alice.locator("h1")).to_contain_text("Seasons")

    # Bob keeps his bucket for the next round.
    bob = new_context().new_page()
    login(bob, member.email)
    bob.goto(f"/c/{collective.slug}/cobudget/buckets/{garden.pk}/")
    toggle = bob.locator("#carry-over button")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(bob.locator(".message.success")).to_contain_text("proposed again in the next round")
    expect(bob.locator("#carry-over button")).to_have_attribute("aria-pressed", "true")

    # The round closes: the garden, far from its minimum, ends unfunded.
    services.round_close(round=spring, actor=coordinator)
    assert Bucket.objects.get(pk=garden.pk).status == "unfunded"

    # Alice makes the next round now, from the templates' list.
    alice.goto(f"/c/{collective.slug}/cobudget/")
    alice.click("text=Round templates")
    alice.click("text=Seasons")
    alice.click("#run button[type=submit]")
    made = Round.objects.get(template=template, occurrence__isnull=False)
    alice.wait_for_url(f"**/cobudget/{made.pk}/")
    expect(alice.locator(".message.success")).to_contain_text("The round is made and open")
    expect(alice.locator("h1")).to_contain_text("Seasons")
    expect(alice.locator(".cb-series")).to_contain_text("A round of the template Seasons.")
    expect(alice.locator("main")).to_contain_text("Useful to the neighbourhood.")

    # Bob finds his garden there, open for funding again, carried over from the spring round.
    bob.goto(f"/c/{collective.slug}/cobudget/{made.pk}/")
    bob.click("text=Roof garden")
    expect(bob.locator(".cb-carried-from")).to_contain_text("Carried over from the previous round")
    expect(bob.locator("h1 .badge")).to_have_text("open for funding")
    copy = Bucket.objects.get(round=made)
    assert copy.carried_from_id == garden.pk and copy.min_goal == Decimal("400.00")
