"""A declaration's life in a real browser: declared on a phone, questioned, validated, closed, explained."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from budgets.fundings import funding_create
from budgets.models import Budget, Period, PeriodStatus, RateLevel
from contributions.models import Contribution, ContributionStatus
from members.models import Role
from tests.e2e.conftest import PHONE
from tests.factories import verified_member

pytestmark = pytest.mark.e2e



def test_declared_on_a_phone_questioned_validated_closed_and_explained(new_context, login, collective):
    alice = verified_member(collective, "alice@example.org", "Alice", [Role.COORDINATOR.value, Role.MEMBER.value])
    verified_member(collective, "bob@example.org", "Bob", [Role.CONTRIBUTOR.value, Role.MEMBER.value])
    verified_member(collective, "gaelle@example.org", "Gaëlle", [Role.MEMBER.value])
    today = timezone.localdate()
    budget = Budget.objects.create(
        collective=collective, name="Tiers-lieu", period_kind="week", starts_on=today - timedelta(days=today.weekday()),
        amount_per_period=Decimal("40.00"),
    )
    RateLevel.objects.create(collective=collective, budget=budget, name="Accueil", hourly_rate=Decimal("20.00"))
    funding_create(budget=budget, actor=alice, source="Région", amount=Decimal("1000.00"), status="received")

    # Bob declares on his phone: one screen, the amount computed as he types, Enter sends.
    bob = new_context(**PHONE).new_page()
    login(bob, "bob@example.org")
    bob.goto(f"/c/{collective.slug}/contributions/new/")
    description = bob.locator("input[name=description]")
    assert description.evaluate("element => element === document.activeElement")
    assert bob.locator("input[name=performed_on]").input_value() == today.isoformat()
    description.fill("Accueil du public samedi")
    bob.fill("input[name=hours]", "2")
    bob.fill("input[name=minutes]", "30")
    assert bob.locator("output").inner_text().replace("\u00a0", "") == "€50.00"
    bob.locator("input[name=description]").press("Enter")
    bob.wait_for_url(f"**/c/{collective.slug}/contributions/*/")
    contribution = Contribution.objects.get()
    assert contribution.amount == Decimal("50.00") and contribution.minutes == 150
    assert bob.locator("#contribution-status").inner_text() == "pending review"

    # Gaëlle, a member, sees it in the collective's list and questions it.
    gaelle = new_context().new_page()
    login(gaelle, "gaelle@example.org")
    gaelle.goto(f"/c/{collective.slug}/contributions/")
    gaelle.click("#declarations >> text=Accueil du public samedi")
    gaelle.fill("textarea[name=comment]", "Deux heures et demie pour l'accueil ?")
    gaelle.click("button:has-text('Ask')")
    assert "Deux heures et demie" in gaelle.locator("#thread").inner_text()

    # Alice, a coordinator, validates it, then closes the period from its page.
    alice_page = new_context().new_page()
    login(alice_page, "alice@example.org")
    alice_page.goto(f"/c/{collective.slug}/contributions/{contribution.pk}/")
    assert "Deux heures et demie" in alice_page.locator("#thread").inner_text()
    alice_page.click("#validate-button")
    assert alice_page.locator("#contribution-status").inner_text() == "validated"
    alice_page.click(f"a[href='/c/{collective.slug}/periods/{contribution.period_id}/']")
    assert "€50.00" in alice_page.locator("#gauge-requested").inner_text()
    assert "over" in alice_page.locator("#gauge").get_attribute("class")
    alice_page.click("#close-period")
    alice_page.wait_for_load_state()
    if alice_page.locator("#confirm-close").count():
        alice_page.click("#confirm-close")
        alice_page.wait_for_load_state()
    period = Period.objects.get(pk=contribution.period_id)
    assert period.status == PeriodStatus.CLOSED

    # Bob sees what was granted and why it is less than he asked.
    bob.goto(f"/c/{collective.slug}/contributions/{contribution.pk}/")
    granted = bob.locator("#granted").inner_text().replace("\u00a0", "")
    assert "€40.00 granted for €50.00 requested" in granted
    assert "Scaled to 80.00%" in bob.locator("#explanation").inner_text()
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.VALIDATED and contribution.payout.granted == Decimal("40.00")


def test_my_own_rate_is_offered_only_on_a_budget_that_allows_it(new_context, login, collective):
    verified_member(collective, "bob@example.org", "Bob", [Role.CONTRIBUTOR.value, Role.MEMBER.value])
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    graded = Budget.objects.create(collective=collective, name="A graded budget", period_kind="week",
                                   starts_on=monday, amount_per_period=Decimal("100.00"))
    RateLevel.objects.create(collective=collective, budget=graded, name="Accueil", hourly_rate=Decimal("20.00"))
    free = Budget.objects.create(collective=collective, name="B free budget", period_kind="week", starts_on=monday,
                                 amount_per_period=Decimal("100.00"), allow_custom_rate=True)
    bob = new_context(**PHONE).new_page()
    login(bob, "bob@example.org")
    bob.goto(f"/c/{collective.slug}/contributions/new/")
    custom_box = bob.locator("[data-custom-rate-box]")
    bob.select_option("select[name=budget]", str(graded.pk))
    assert not custom_box.is_visible()
    bob.select_option("select[name=budget]", str(free.pk))
    assert custom_box.is_visible()
    assert bob.eval_on_selector_all("select[name=budget] option", "options => options.some(o => o.hidden)") is False
