"""Nobody is added to a collective without consent, and inviting tells nothing about who has an account.

A coordinator's POST …/members/ answers the same 202 invitation for a known and an unknown address; the invited
person accepts or declines it through /api/v1/me/invitations/, the home page or the emailed link.
"""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contrib_budget.errors import DomainError, NotFound
from members import selectors, services
from members.audit_labels import audit_action_label
from members.models import AuditEvent, Invitation, Membership, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"detail", "code", "fields"}
MY_INVITATIONS = "/api/v1/me/invitations/"


def members_url(collective) -> str:
    return f"/api/v1/collectives/{collective.slug}/members/"


def answer_url(invitation, answer: str) -> str:
    return f"{MY_INVITATIONS}{invitation.pk}/{answer}/"


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def dana(db):
    """Dana has an account and belongs to no collective."""
    return UserFactory(email="dana@example.org", name="Dana Secret-Surname")


@pytest.fixture
def invite(collective, coordinator):
    def make(email: str, roles=(Role.MEMBER.value,)) -> Invitation:
        return services.member_add(collective=collective, actor=coordinator, email=email, roles=list(roles))

    return make


# Inviting -----------------------------------------------------------------------------------------


def test_a_known_and_an_unknown_address_get_the_same_answer_and_nobody_joins(
        api, collective, coordinator, dana, django_capture_on_commit_callbacks):
    client = api(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(members_url(collective), {"email": "Dana@example.org", "roles": ["member"]}, format="json")
        unknown = client.post(members_url(collective), {"email": "nobody@example.org", "roles": ["member"]},
                              format="json")
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert set(known.json()) == set(unknown.json()) == {"invitation", "email", "roles", "expires_at"}
    assert {type(value) for value in known.json().values()} == {type(value) for value in unknown.json().values()}
    assert "Secret-Surname" not in known.content.decode()
    assert known.json()["email"] == "dana@example.org" and known.json()["roles"] == ["member"]
    assert not Membership.objects.filter(user=dana).exists()
    assert Membership.objects.of(collective).count() == 1
    # Both addresses receive the invitation link by email.
    for email in ("dana@example.org", "nobody@example.org"):
        invitation = Invitation.objects.of(collective).get(email=email)
        assert any(reverse("invitation_accept", args=[invitation.token]) in message.body
                   for message in mail.outbox if message.to == [email]), email


def test_inviting_someone_already_member_is_still_refused(invite, member):
    with pytest.raises(DomainError) as refused:
        invite(member.email.upper())
    assert refused.value.code == "already_member"
    assert not Invitation.objects.exists()


# Listing mine --------------------------------------------------------------------------------------


def test_my_invitations_are_the_pending_ones_sent_to_my_login_or_a_verified_address(
        api, collective, coordinator, dana, invite):
    EmailAddress.objects.create(user=dana, email="Dana.Work@example.org", verified=True)
    EmailAddress.objects.create(user=dana, email="dana.unverified@example.org", verified=False)
    to_login = invite("dana@example.org", roles=[Role.CONTRIBUTOR.value, Role.MEMBER.value])
    to_work = invite("dana.work@example.org")
    invite("dana.unverified@example.org")
    invite("someone.else@example.org")
    now = timezone.now()
    for fields in ({"revoked_at": now}, {"accepted_at": now}, {"declined_at": now},
                   {"expires_at": now - timedelta(minutes=1)}):
        Invitation.objects.create(collective=collective, email="dana@example.org", roles=["member"],
                                  invited_by=coordinator, **fields)

    response = api(dana).get(MY_INVITATIONS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert sorted(item["id"] for item in body["results"]) == sorted([to_login.pk, to_work.pk])
    item = next(item for item in body["results"] if item["id"] == to_login.pk)
    assert {"id", "collective", "roles", "invited_by", "created_at"} <= set(item)
    assert item["collective"] == {"slug": "la-fabrique", "name": "La Fabrique"}
    assert item["roles"] == ["contributor", "member"] and item["invited_by"] == "Alice" and item["created_at"]
    assert "token" not in item and "email" not in item


def test_my_invitations_need_a_login(client, api):
    response = api().get(MY_INVITATIONS)
    assert response.status_code in (401, 403) and set(response.json()) == ERROR_KEYS


# Accepting and declining through the API ----------------------------------------------------------------


def test_accepting_makes_me_a_member_with_the_invited_roles(api, collective, dana, invite):
    invitation = invite("dana@example.org", roles=[Role.CONTRIBUTOR.value])
    response = api(dana).post(answer_url(invitation, "accept"))
    assert response.status_code == 200, response.json()
    assert response.json()["slug"] == "la-fabrique" and response.json()["my_roles"] == ["contributor"]
    assert Membership.objects.get(collective=collective, user=dana).roles == ["contributor"]
    event = AuditEvent.objects.of(collective).get(action="invitation.accepted")
    assert event.actor == dana
    assert api(dana).get(MY_INVITATIONS).json()["count"] == 0
    assert api(dana).get(f"/api/v1/collectives/{collective.slug}/").status_code == 200


def test_declining_adds_nobody_and_the_invitation_is_no_longer_pending(api, collective, coordinator, dana, invite):
    invitation = invite("dana@example.org")
    response = api(dana).post(answer_url(invitation, "decline"))
    assert response.status_code == 204
    invitation.refresh_from_db()
    assert invitation.declined_at is not None and not invitation.is_pending
    assert not Membership.objects.filter(user=dana).exists()
    assert api(dana).get(MY_INVITATIONS).json()["count"] == 0
    assert invitation not in selectors.collective_invitations_pending(collective)
    event = AuditEvent.objects.of(collective).get(action="invitation.declined")
    assert event.actor == dana and event.target_id == str(invitation.pk)
    assert audit_action_label("invitation.declined") != "invitation.declined"

    again = api(dana).post(answer_url(invitation, "accept"))
    assert again.status_code == 400 and again.json()["code"] == "not_pending" and set(again.json()) == ERROR_KEYS
    assert not Membership.objects.filter(user=dana).exists()
    # The emailed link is dead too.
    assert api(dana).post(answer_url(invitation, "decline")).status_code == 400


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_someone_elses_invitation_is_not_found(api, collective, dana, invite, answer):
    theirs = invite("eve@example.org")
    EmailAddress.objects.create(user=dana, email="dana.unverified@example.org", verified=False)
    unverified = invite("dana.unverified@example.org")
    for invitation in (theirs, unverified):
        response = api(dana).post(answer_url(invitation, answer))
        assert response.status_code == 404 and set(response.json()) == ERROR_KEYS
        invitation.refresh_from_db()
        assert invitation.is_pending
    assert api(dana).post(f"{MY_INVITATIONS}999999/{answer}/").status_code == 404
    assert not Membership.objects.filter(user=dana).exists()
    with pytest.raises(NotFound):
        getattr(services, f"invitation_{answer}")(user=dana, invitation_id=theirs.pk)


def test_accepting_an_invitation_to_a_collective_i_am_in_adds_the_roles(api, collective, member, coordinator):
    invitation = Invitation.objects.create(collective=collective, email=member.email, roles=["accountant"],
                                           invited_by=coordinator)
    assert api(member).post(answer_url(invitation, "accept")).status_code == 200
    assert Membership.objects.get(collective=collective, user=member).roles == ["contributor", "member",
                                                                                 "accountant"]


# Pages ------------------------------------------------------------------------------------------


def test_the_home_page_offers_to_join_or_decline(client, dana, invite):
    invitation = invite("dana@example.org")
    client.force_login(dana)
    page = client.get(reverse("home")).content.decode()
    assert "Join La Fabrique" in page and "Decline" in page
    assert f'action="{reverse("invitation_accept", args=[invitation.token])}"' in page
    assert f'action="{reverse("invitation_decline", args=[invitation.token])}"' in page


def test_declining_from_a_page_adds_nobody(client, collective, dana, invite):
    invitation = invite("dana@example.org")
    client.force_login(dana)
    response = client.post(reverse("invitation_decline", args=[invitation.token]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "You declined the invitation to join La Fabrique." in response.content.decode()
    assert "Join La Fabrique" not in response.content.decode()
    assert not Membership.objects.filter(user=dana).exists()
    invitation.refresh_from_db()
    assert invitation.declined_at is not None

    link = client.get(reverse("invitation_accept", args=[invitation.token]))
    assert link.status_code == 410 and "This invitation was declined." in link.content.decode()
    assert client.post(reverse("invitation_decline", args=[invitation.token])).status_code == 410


def test_declining_someone_elses_invitation_from_a_page_is_refused(client, dana, invite):
    invitation = invite("eve@example.org")
    client.force_login(dana)
    assert client.post(reverse("invitation_decline", args=[invitation.token])).status_code == 403
    assert client.post(reverse("invitation_decline", args=["no-such-token"])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_declining_from_a_page_needs_a_login(client, invite):
    invitation = invite("eve@example.org")
    response = client.post(reverse("invitation_decline", args=[invitation.token]))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_the_emailed_link_still_lets_a_known_person_accept(api, client, collective, coordinator, dana,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api(coordinator).post(members_url(collective), {"email": dana.email, "roles": ["contributor"]}, format="json")
    invitation = Invitation.objects.of(collective).get(email=dana.email)
    link = reverse("invitation_accept", args=[invitation.token])
    assert any(link in message.body for message in mail.outbox if message.to == [dana.email])
    client.force_login(dana)
    page = client.get(link).content.decode()
    assert "Accept the invitation" in page and "Decline" in page
    response = client.post(link)
    assert response.status_code == 302 and response.url == reverse("collective_dashboard", args=[collective.slug])
    assert Membership.objects.get(collective=collective, user=dana).roles == ["contributor"]


def test_the_members_page_invites_a_known_person_like_anyone(client, collective, coordinator, dana):
    client.force_login(coordinator)
    response = client.post(reverse("member_invite", args=[collective.slug]),
                           {"email": dana.email, "roles": ["member"]}, follow=True)
    body = response.content.decode()
    assert "An invitation was sent to dana@example.org." in body and "Secret-Surname" not in body
    assert not Membership.objects.filter(user=dana).exists()
