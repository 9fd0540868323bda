"""Consent in a real browser: a coordinator invites someone who already has an account; that person is not a
member until they answer, sees the invitation on their home page, declines one and accepts the other."""

import pytest
from allauth.account.models import EmailAddress

from members.models import Collective, Invitation, Membership, Role
from tests.e2e.conftest import PHONE
from tests.factories import CollectiveFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.e2e



def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_an_existing_person_is_invited_sees_it_at_home_and_accepts(new_context, login, collective, coordinator):
    verified(coordinator)
    dana = verified(UserFactory(email="dana@example.org", name="Dana"))
    elsewhere = CollectiveFactory(name="Le Jardin", slug="le-jardin")
    gardener = MembershipFactory(collective=elsewhere, user=UserFactory(email="gus@example.org", name="Gus"),
                                 roles=[Role.COORDINATOR.value]).user
    Invitation.objects.create(collective=elsewhere, email=dana.email, roles=[Role.MEMBER.value], invited_by=gardener)

    # Alice invites Dana's address from the members page: the page says an invitation was sent, as for anyone.
    alice = new_context().new_page()
    login(alice, coordinator.email)
    alice.goto(f"/c/{collective.slug}/members/")
    alice.fill("input[name=email]", "dana@example.org")
    alice.check("input[name=roles][value=contributor]")
    with alice.expect_navigation():
        alice.click("main button:has-text('Send the invitation')")
    assert "An invitation was sent to dana@example.org." in alice.locator(".messages").inner_text()
    assert "dana@example.org" in alice.locator("#invitations").inner_text()
    assert not Membership.objects.filter(user=dana).exists()

    # Dana, on her phone, finds both invitations on her home page.
    dana_page = new_context(**PHONE).new_page()
    login(dana_page, dana.email)
    dana_page.goto("/")
    invitations = dana_page.locator("#invitations-title + ul")
    assert "La Fabrique" in invitations.inner_text() and "Le Jardin" in invitations.inner_text()
    assert "Alice invites you as" in invitations.inner_text()

    # She declines Le Jardin…
    jardin = invitations.locator("li", has_text="Le Jardin")
    with dana_page.expect_navigation():
        jardin.locator("button:has-text('Decline')").click()
    assert "You declined the invitation to join Le Jardin." in dana_page.locator(".messages").inner_text()
    assert "Le Jardin" not in dana_page.locator("#invitations-title + ul").inner_text()
    assert not Membership.objects.filter(user=dana, collective=elsewhere).exists()

    # …and joins La Fabrique.
    dana_page.click("main button:has-text('Join La Fabrique')")
    dana_page.wait_for_url(f"**/c/{collective.slug}/")
    assert "La Fabrique" in dana_page.locator("h1").inner_text()
    dana_page.goto("/")
    assert "Invitations for me" not in dana_page.locator("main").inner_text()
    assert "contributor" in dana_page.locator("main").inner_text()

    fabrique = Collective.objects.get(slug=collective.slug)
    assert Membership.objects.get(collective=fabrique, user=dana).roles == [Role.CONTRIBUTOR.value,
                                                                            Role.MEMBER.value]

    # Alice sees Dana among the members, and no longer among the pending invitations.
    alice.reload()
    assert "Dana" in alice.locator("main").inner_text()
    assert not alice.locator("#invitations").count() or "dana@example.org" not in alice.locator(
        "#invitations").inner_text()
