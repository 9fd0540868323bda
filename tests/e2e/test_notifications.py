"""The loop tells people what waits for them, in a real browser: a question reaches the author through the bell,
the inbox leads to the declaration, and the answer reaches the person who asked."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from budgets.models import Budget
from contributions.services import Declaration, contribution_declare
from members.models import Membership, Role
from members.notifications.models import Notification
from tests.e2e.conftest import PHONE
from tests.factories import verified_member

pytestmark = pytest.mark.e2e



def bell_count(page) -> str:
    bell = page.locator("#notification-bell .bell-count")
    return bell.inner_text() if bell.count() else "0"


def test_a_question_reaches_the_author_who_follows_it_and_answers(new_context, login, collective, mailoutbox):
    verified_member(collective, "alice@example.org", "Alice", [Role.COORDINATOR.value, Role.MEMBER.value])
    bob = verified_member(collective, "bob@example.org", "Bob", [Role.CONTRIBUTOR.value, Role.MEMBER.value])
    today = timezone.localdate()
    budget = Budget.objects.create(collective=collective, name="Tiers-lieu", period_kind="month",
                                   starts_on=today - timedelta(days=40))
    declaration = contribution_declare(
        collective=collective, membership=Membership.objects.get(user=bob),
        declaration=Declaration(budget=budget, performed_on=today, description="Réparation du vélo-cargo",
                                minutes=0, value_mode="self_assessed", amount=Decimal("35.00")),
    )

    # Bob, on his phone, has nothing new.
    bob_page = new_context(**PHONE).new_page()
    login(bob_page, "bob@example.org")
    bob_page.goto("/")
    assert bell_count(bob_page) == "0"

    # Alice, a coordinator, questions the declaration.
    alice_page = new_context().new_page()
    login(alice_page, "alice@example.org")
    alice_page.goto(f"/c/{collective.slug}/contributions/{declaration.pk}/")
    alice_page.fill("textarea[name=comment]", "Quelles pièces as-tu changées ?")
    alice_page.click("button:has-text('Ask')")
    assert "Quelles pièces" in alice_page.locator("#thread").inner_text()

    # Bob's bell counts it; the inbox tells him who asked what, and leads him to the declaration.
    bob_page.reload()
    assert bell_count(bob_page) == "1"
    bob_page.click("#notification-bell")
    bob_page.wait_for_url("**/notifications/")
    item = bob_page.locator(".notification.unread")
    assert item.count() == 1
    assert "Alice questioned your declaration “Réparation du vélo-cargo”" in item.inner_text()
    item.locator("a").click()
    bob_page.wait_for_url(f"**/c/{collective.slug}/contributions/{declaration.pk}/")
    assert bell_count(bob_page) == "0"
    assert Notification.objects.get(recipient=bob).read_at is not None

    # He answers; Alice, who asked, is told.
    bob_page.fill("textarea[name=comment]", "La chaîne et les patins de frein.")
    bob_page.click("button:has-text('Reply')")
    assert "La chaîne" in bob_page.locator("#thread").inner_text()
    alice_page.goto("/notifications/")
    assert bell_count(alice_page) == "1"
    assert "Bob answered on the declaration" in alice_page.locator(".notification.unread").inner_text()

    # Both questions and answers are instant emails by default, one each.
    assert sorted(message.to[0] for message in mailoutbox) == ["alice@example.org", "bob@example.org"]
