"""Journeys of reviewers and coordinators on a 375 px phone: validating several declarations at once from the
pending list, withdrawing one's own declaration, finding and editing members, and filtering the audit log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from budgets.models import Budget, RateLevel
from contributions import services
from contributions.models import Contribution, ContributionStatus
from members.models import Membership, Role
from tests.factories import verified_member

pytestmark = pytest.mark.e2e

PHONE_375 = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}



@pytest.fixture
def team(collective):
    return {
        "alice": verified_member(collective, "alice@example.org", "Alice",
                        [Role.COORDINATOR.value, Role.CONTRIBUTOR.value, Role.MEMBER.value]),
        "bob": verified_member(collective, "bob@example.org", "Bob", [Role.CONTRIBUTOR.value, Role.MEMBER.value]),
        "dora": verified_member(collective, "dora@example.org", "Dora Martin", [Role.MEMBER.value]),
    }


@pytest.fixture
def budget(collective):
    today = timezone.localdate()
    budget = Budget.objects.create(collective=collective, name="Tiers-lieu", period_kind="week",
                                   starts_on=today - timedelta(days=today.weekday()),
                                   amount_per_period=Decimal("500.00"))
    RateLevel.objects.create(collective=collective, budget=budget, name="Accueil", hourly_rate=Decimal("20.00"))
    return budget


def declare(collective, budget, author, description, minutes) -> Contribution:
    membership = Membership.objects.get(collective=collective, user=author)
    return services.contribution_declare(collective=collective, membership=membership, declaration=services.Declaration(
        budget=budget, performed_on=timezone.localdate(), description=description, minutes=minutes,
        value_mode="time_rate", rate_level=budget.rate_levels.get()))


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 375


def messages(page) -> str:
    return page.locator(".messages").inner_text().replace("\u00a0", "")


def test_a_reviewer_validates_several_declarations_at_once_and_her_own_is_skipped(new_context, login, collective,
                                                                                   team, budget):
    first = declare(collective, budget, team["bob"], "Accueil du samedi", 120)
    second = declare(collective, budget, team["bob"], "Rangement de l'atelier", 90)
    own = declare(collective, budget, team["alice"], "Coordination de la semaine", 60)

    alice = new_context(**PHONE_375).new_page()
    login(alice, "alice@example.org")
    alice.goto(f"/c/{collective.slug}/contributions/?status=pending")
    assert fits(alice)
    for contribution in (first, second, own):
        alice.check(f"#pick-{contribution.pk}")
    expect(alice.locator("#batch-summary")).to_contain_text("3 selected")

    # The dialog states the count and the total; cancelling validates nothing.
    alice.click("#batch-validate-button")
    dialog = alice.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    assert "Validate 3 declarations totalling €90.00?" in dialog.inner_text().replace("\u00a0", "")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert set(Contribution.objects.values_list("status", flat=True)) == {ContributionStatus.PENDING}

    # Confirming validates Bob's two, each checked alone: Alice's own is skipped, and the message says why.
    alice.click("#batch-validate-button")
    with alice.expect_navigation():
        alice.locator("#confirm-dialog-ok").click()
    shown = messages(alice)
    assert "Validated 2 declarations: €70.00 in all." in shown
    assert "Skipped 1 declaration: “Coordination de la semaine” by Alice: Nobody reviews their own declaration." \
        in shown
    statuses = dict(Contribution.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == ContributionStatus.VALIDATED
    assert statuses[own.pk] == ContributionStatus.PENDING
    assert alice.url.endswith("/contributions/?status=pending")
    assert fits(alice)


def test_ticking_every_pending_declaration_of_the_page_at_once(new_context, login, collective, team, budget):
    for n in range(3):
        declare(collective, budget, team["bob"], f"Permanence {n}", 60)
    alice = new_context(**PHONE_375).new_page()
    login(alice, "alice@example.org")
    alice.goto(f"/c/{collective.slug}/contributions/?status=pending")
    alice.check("#batch-select-all")
    expect(alice.locator("#batch-summary")).to_contain_text("3 selected")
    alice.click("#batch-validate-button")
    with alice.expect_navigation():
        alice.locator("#confirm-dialog-ok").click()
    assert "Validated 3 declarations: €60.00 in all." in messages(alice)


def test_the_author_withdraws_a_declaration_after_a_confirmation(new_context, login, collective, team, budget):
    contribution = declare(collective, budget, team["bob"], "Accueil du dimanche", 150)
    bob = new_context(**PHONE_375).new_page()
    login(bob, "bob@example.org")
    bob.goto(f"/c/{collective.slug}/contributions/{contribution.pk}/")
    assert "20.00/h" in bob.locator(".facts").inner_text()

    bob.click("#withdraw-button")
    dialog = bob.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    assert "Your declaration of €50.00 will be withdrawn" in dialog.inner_text().replace("\u00a0", "")
    dialog.get_by_role("button", name="Cancel").click()
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.PENDING

    bob.click("#withdraw-button")
    with bob.expect_navigation():
        bob.locator("#confirm-dialog-ok").click()
    assert "Withdrawn: your declaration no longer requests €50.00." in messages(bob)
    expect(bob.locator("#contribution-status")).to_have_text("withdrawn")
    expect(bob.locator("#withdraw-button")).to_have_count(0)
    contribution.refresh_from_db()
    assert contribution.status == ContributionStatus.WITHDRAWN
    assert fits(bob)


def test_a_coordinator_finds_a_member_edits_her_roles_and_removes_someone(new_context, login, collective, team,
                                                                         budget):
    declare(collective, budget, team["bob"], "Accueil", 60)
    alice = new_context(**PHONE_375).new_page()
    login(alice, "alice@example.org")
    alice.goto(f"/c/{collective.slug}/members/")
    assert fits(alice)

    # The search works as a plain form: type, Enter, the page lists who matches.
    alice.fill("input[name=q]", "mart")
    with alice.expect_navigation():
        alice.press("input[name=q]", "Enter")
    expect(alice.locator("#members tbody tr")).to_have_count(1)
    expect(alice.locator("#members")).to_contain_text("Dora Martin")
    expect(alice.locator("#members")).to_contain_text("dora@example.org")

    # Her edit dialog opens in place; her roles are saved from it.
    dora = Membership.objects.get(collective=collective, user=team["dora"])
    alice.click(f"#edit-{dora.pk}")
    dialog = alice.locator(f"#edit-member-{dora.pk}")
    expect(dialog).to_be_visible()
    dialog.locator("label", has_text="contributor").click()
    with alice.expect_navigation():
        dialog.get_by_role("button", name="Save the roles").click()
    assert "Dora Martin is now: contributor, member." in messages(alice)
    dora.refresh_from_db()
    assert dora.roles == ["contributor", "member"]

    # Removing Bob asks first, saying what he loses and what is kept; cancelling keeps him.
    alice.goto(f"/c/{collective.slug}/members/")
    bob = Membership.objects.get(collective=collective, user=team["bob"])
    alice.click(f"#edit-{bob.pk}")
    alice.locator(f"#edit-member-{bob.pk}").get_by_role("button", name="Remove from the collective").click()
    confirm = alice.locator("#confirm-dialog")
    expect(confirm).to_be_visible()
    assert "Remove Bob?" in confirm.inner_text()
    assert "Bob will lose access to La Fabrique and their roles" in confirm.inner_text()
    assert "What they did is kept: 1 declaration." in confirm.inner_text()
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert Membership.objects.filter(pk=bob.pk).exists()
    alice.locator(f"#edit-member-{bob.pk}").get_by_role("button", name="Remove from the collective").click()
    with alice.expect_navigation():
        confirm.locator("#confirm-dialog-ok").click()
    assert "Bob was removed from La Fabrique; kept: 1 declaration." in messages(alice)
    assert not Membership.objects.filter(pk=bob.pk).exists()
    assert Contribution.objects.filter(author=team["bob"]).exists()
    assert fits(alice)


def test_a_member_sees_names_and_roles_but_no_emails(new_context, login, collective, team):
    dora = new_context(**PHONE_375).new_page()
    login(dora, "dora@example.org")
    dora.goto(f"/c/{collective.slug}/members/")
    expect(dora.locator("#members")).to_contain_text("Alice")
    expect(dora.locator("#members")).not_to_contain_text("alice@example.org")
    expect(dora.locator("#roles-legend")).to_contain_text("Declares work")
    expect(dora.locator("dialog.member-dialog")).to_have_count(0)
    assert fits(dora)


def test_a_coordinator_filters_the_audit_log_and_downloads_what_is_filtered(new_context, login, collective, team,
                                                                           budget):
    contribution = declare(collective, budget, team["bob"], "Accueil", 60)
    declare(collective, budget, team["bob"], "Ménage", 30)
    services.contribution_validate(contribution=contribution,
                                   membership=Membership.objects.get(collective=collective, user=team["alice"]))
    alice = new_context(**PHONE_375).new_page()
    login(alice, "alice@example.org")
    alice.goto(f"/c/{collective.slug}/audit/")
    assert fits(alice)
    alice.select_option("select[name=action]", label="declaration validated")
    alice.fill("input[name=person]", "Alice")
    with alice.expect_navigation():
        alice.locator("#audit-filters").get_by_role("button", name="Filter").click()
    rows = alice.locator("#audit tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first.inner_text().replace("\u00a0", "")
    assert "declaration validated" in row and "Bob — Accueil" in row
    assert "pending review → validated" in row and "€20.00" in row and "validated_amount" not in row
    assert "action=contribution.validated" in alice.locator("#audit-csv").get_attribute("href")
    with alice.expect_download() as download:
        alice.click("#audit-csv")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.count("\n") == 2 and "contribution.validated" in text and "contribution.declared" not in text
    assert fits(alice)
