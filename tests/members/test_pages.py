"""The pages about accounts, collectives, members, invitations, audit and tokens."""

from datetime import UTC, datetime, timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from contrib_budget.errors import Forbidden
from members import services
from members.models import AuditEvent, Collective, Invitation, Membership, PersonalToken, Role, User
from tests.conftest import PASSWORD
from tests.factories import UserFactory, with_verified_email
from tests.members.test_api import fresh_address

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    """Pages read in English here; the French rendering has its own test."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    """allauth's rate limits live in the shared cache: an earlier run must not throttle this one."""
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture
def as_user(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


def _collective_form(**overrides):
    data = {"name": "Le Tiers-Lieu", "slug": "tiers-lieu", "currency": "EUR", "locale": "fr",
            "timezone": "Europe/Paris", "description": "Un lieu partagé."}
    return {**data, **overrides}


# Home -------------------------------------------------------------------------------------------


def test_visitors_get_a_front_page_that_explains_the_product(client):
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<title>Contrib Budget · " in html and "contrib_budget" not in html
    assert "members declare their work" in html
    assert f'href="{reverse("account_signup")}"' in html and f'href="{reverse("account_login")}"' in html
    assert 'rel="icon"' in html and "img/logo.svg" in html


def test_home_lists_my_collectives_with_my_roles(as_user, collective, member):
    response = as_user(member).get(reverse("home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "La Fabrique" in body
    assert "member, contributor" in body
    assert "Ailleurs" not in body


def test_home_shows_pending_invitations_for_my_email_and_what_waits(as_user, collective, coordinator):
    invitee = UserFactory(email="newcomer@example.org")
    invitation = Invitation.objects.create(collective=collective, email="NewComer@example.org",
                                           roles=[Role.CONTRIBUTOR.value], invited_by=coordinator)
    Invitation.objects.create(collective=collective, email="newcomer@example.org", roles=[Role.MEMBER.value],
                              invited_by=coordinator, revoked_at=timezone.now())
    response = as_user(invitee).get(reverse("home"))
    invitations = list(response.context["invitations"])
    assert invitations == [invitation]
    assert [item.url for item in response.context["waiting_items"]] == [
        reverse("invitation_accept", args=[invitation.token])
    ]
    assert "Join La Fabrique" in response.content.decode()


def test_accepting_from_the_home_page_joins_the_collective(as_user, collective, coordinator):
    invitee = UserFactory(email="newcomer@example.org")
    invitation = Invitation.objects.create(collective=collective, email=invitee.email,
                                           roles=[Role.CONTRIBUTOR.value], invited_by=coordinator)
    response = as_user(invitee).post(reverse("invitation_accept", args=[invitation.token]))
    assert response.status_code == 302
    assert response.url == reverse("collective_dashboard", args=[collective.slug])
    assert Membership.objects.get(collective=collective, user=invitee).roles == [Role.CONTRIBUTOR.value]


def test_an_invitation_for_another_address_cannot_be_accepted(as_user, collective, coordinator):
    invitation = Invitation.objects.create(collective=collective, email="eve@example.org",
                                           roles=[Role.COORDINATOR.value], invited_by=coordinator)
    mallory = UserFactory(email="mallory@example.org")
    client = as_user(mallory)
    path = reverse("invitation_accept", args=[invitation.token])
    page = client.get(path).content.decode()
    assert "Accept the invitation" not in page
    assert "This invitation was sent to eve@example.org, and you are logged in as mallory@example.org" in page
    refused = client.post(path)
    assert refused.status_code == 403
    assert not Membership.objects.filter(user=mallory).exists()
    invitation.refresh_from_db()
    assert invitation.is_pending
    with pytest.raises(Forbidden):
        services.invitation_accept(token=invitation.token, user=mallory)


def test_an_invitation_to_a_verified_second_address_of_mine_can_be_accepted(as_user, collective, coordinator):
    invitee = UserFactory(email="eve@example.org")
    EmailAddress.objects.create(user=invitee, email="Eve.Work@example.org", verified=True)
    EmailAddress.objects.create(user=invitee, email="eve.unverified@example.org", verified=False)
    work, unverified = (Invitation.objects.create(collective=collective, email=email, roles=[Role.MEMBER.value],
                                                  invited_by=coordinator)
                        for email in ("eve.work@example.org", "eve.unverified@example.org"))
    client = as_user(invitee)
    assert client.post(reverse("invitation_accept", args=[unverified.token])).status_code == 403
    assert not Membership.objects.filter(user=invitee).exists()
    assert client.post(reverse("invitation_accept", args=[work.token])).status_code == 302
    assert Membership.objects.filter(collective=collective, user=invitee).exists()


# Create a collective ------------------------------------------------------------------------------


def test_create_collective_makes_me_its_coordinator(as_user):
    user = UserFactory()
    response = as_user(user).post(reverse("collective_create"), _collective_form())
    assert response.status_code == 302
    collective = Collective.objects.get(slug="tiers-lieu")
    assert response.url == reverse("collective_dashboard", args=["tiers-lieu"])
    assert Membership.objects.get(collective=collective, user=user).roles == [Role.COORDINATOR.value]
    assert collective.currency == "EUR" and collective.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"slug": "Pas un slug!"}, "slug"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"locale": "de"}, "locale"),
        ({"name": ""}, "name"),
    ],
)
def test_create_collective_with_bad_input_shows_the_field_error_and_saves_nothing(as_user, overrides, field):
    response = as_user(UserFactory()).post(reverse("collective_create"), _collective_form(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'class="errorlist"' in response.content.decode()
    assert not Collective.objects.exists()
    assert not Membership.objects.exists()


def test_create_collective_with_a_taken_slug_says_so_and_saves_nothing(as_user, collective):
    response = as_user(UserFactory()).post(reverse("collective_create"), _collective_form(slug=collective.slug))
    assert response.status_code == 200
    assert response.context["form"].errors["slug"]
    assert Collective.objects.count() == 1


# Dashboard -------------------------------------------------------------------------------------


def test_dashboard_shows_my_roles_and_the_member_count(as_user, collective, coordinator, member, accountant):
    response = as_user(member).get(reverse("collective_dashboard", args=[collective.slug]))
    assert response.status_code == 200
    assert response.context["member_count"] == 3
    body = response.content.decode()
    assert "member, contributor" in body
    assert reverse("members", args=[collective.slug]) in body
    assert reverse("audit_log", args=[collective.slug]) not in body


def test_dashboard_of_another_collective_is_not_found(as_user, collective, outsider):
    assert as_user(outsider).get(reverse("collective_dashboard", args=[collective.slug])).status_code == 404


# Members -----------------------------------------------------------------------------------------


def test_members_page_lists_names_and_roles_and_only_coordinators_read_the_emails(as_user, collective, coordinator,
                                                                                  member):
    response = as_user(member).get(reverse("members", args=[collective.slug]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Alice" in body and "Bob" in body and "coordinator, member" in body
    assert "alice@example.org" not in body
    assert "invite_form" in response.context and not response.context["is_coordinator"]
    assert reverse("member_invite", args=[collective.slug]) not in body
    assert "alice@example.org" in as_user(coordinator).get(reverse("members", args=[collective.slug])).content.decode()


def test_coordinator_invites_an_existing_person_who_joins_only_by_accepting(as_user, collective, coordinator):
    known = UserFactory(email="dora@example.org")
    response = as_user(coordinator).post(reverse("member_invite", args=[collective.slug]),
                                         {"email": "Dora@Example.org", "roles": ["contributor", "member"]},
                                         follow=True)
    assert "An invitation was sent to dora@example.org." in response.content.decode()
    assert not Membership.objects.filter(collective=collective, user=known).exists()
    invitation = Invitation.objects.get(collective=collective)
    assert (invitation.email, invitation.roles) == ("dora@example.org", ["contributor", "member"])
    assert "dora@example.org" in response.content.decode()  # listed among the pending invitations


def test_coordinator_invites_an_unknown_email_which_receives_the_link(
    as_user, collective, coordinator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(coordinator).post(reverse("member_invite", args=[collective.slug]),
                                             {"email": "eve@example.org", "roles": ["member"]})
    assert response.status_code == 302
    invitation = Invitation.objects.get(collective=collective)
    assert invitation.email == "eve@example.org" and invitation.roles == ["member"]
    assert len(mail.outbox) == 1
    assert reverse("invitation_accept", args=[invitation.token]) in mail.outbox[0].body
    pending = as_user(coordinator).get(reverse("members", args=[collective.slug]))
    assert "eve@example.org" in pending.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "eve@example.org", "roles": []}, "roles"),
        ({"email": "eve@example.org", "roles": ["treasurer"]}, "roles"),
        ({"email": "not-an-email", "roles": ["member"]}, "email"),
    ],
)
def test_invite_with_bad_input_shows_the_error_and_saves_nothing(as_user, collective, coordinator, data, field):
    response = as_user(coordinator).post(reverse("member_invite", args=[collective.slug]), data)
    assert response.status_code == 400
    assert response.context["invite_form"].errors[field]
    assert not Invitation.objects.exists()
    assert Membership.objects.of(collective).count() == 1


def test_inviting_someone_already_member_is_a_field_error(as_user, collective, coordinator, member):
    response = as_user(coordinator).post(reverse("member_invite", args=[collective.slug]),
                                         {"email": member.email, "roles": ["member"]})
    assert response.status_code == 400
    assert response.context["invite_form"].errors["email"]


def test_coordinator_changes_roles(as_user, collective, coordinator, member):
    membership = Membership.objects.get(collective=collective, user=member)
    response = as_user(coordinator).post(reverse("membership_roles", args=[collective.slug, membership.pk]),
                                         {"roles": ["accountant"]})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.roles == ["accountant"]


def test_last_coordinator_cannot_drop_the_role_and_is_told_why(as_user, client, collective, coordinator):
    membership = Membership.objects.get(collective=collective, user=coordinator)
    response = as_user(coordinator).post(reverse("membership_roles", args=[collective.slug, membership.pk]),
                                         {"roles": ["member"]}, follow=True)
    assert "A collective always keeps at least one coordinator." in response.content.decode()
    membership.refresh_from_db()
    assert Role.COORDINATOR.value in membership.roles


def test_last_coordinator_cannot_leave_and_is_told_why(as_user, collective, coordinator, member):
    membership = Membership.objects.get(collective=collective, user=coordinator)
    response = as_user(coordinator).post(reverse("membership_remove", args=[collective.slug, membership.pk]),
                                         follow=True)
    assert "A collective always keeps at least one coordinator." in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_coordinator_removes_a_member(as_user, collective, coordinator, member):
    membership = Membership.objects.get(collective=collective, user=member)
    response = as_user(coordinator).post(reverse("membership_remove", args=[collective.slug, membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEvent.objects.of(collective).filter(action="membership.removed").exists()


def test_a_member_leaves_and_goes_home(as_user, collective, coordinator, member):
    membership = Membership.objects.get(collective=collective, user=member)
    response = as_user(member).post(reverse("membership_remove", args=[collective.slug, membership.pk]))
    assert response.status_code == 302 and response.url == reverse("home")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_coordinator_revokes_a_pending_invitation(as_user, collective, coordinator):
    invitation = Invitation.objects.create(collective=collective, email="eve@example.org", roles=["member"],
                                           invited_by=coordinator)
    response = as_user(coordinator).post(reverse("invitation_revoke", args=[collective.slug, invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_coordinator_only_actions_are_forbidden_to_other_members(as_user, collective, coordinator, member):
    client = as_user(member)
    coordinator_membership = Membership.objects.get(collective=collective, user=coordinator)
    invitation = Invitation.objects.create(collective=collective, email="eve@example.org", roles=["member"],
                                           invited_by=coordinator)
    forbidden = [
        ("post", reverse("member_invite", args=[collective.slug]), {"email": "x@example.org", "roles": ["member"]}),
        ("post", reverse("membership_roles", args=[collective.slug, coordinator_membership.pk]), {"roles": ["member"]}),
        ("post", reverse("membership_remove", args=[collective.slug, coordinator_membership.pk]), {}),
        ("post", reverse("invitation_revoke", args=[collective.slug, invitation.pk]), {}),
        ("get", reverse("audit_log", args=[collective.slug]), {}),
    ]
    for method, url, data in forbidden:
        assert getattr(client, method)(url, data).status_code == 403, url
    coordinator_membership.refresh_from_db()
    invitation.refresh_from_db()
    assert coordinator_membership.roles == [Role.COORDINATOR.value, Role.MEMBER.value]
    assert invitation.revoked_at is None
    assert Invitation.objects.count() == 1


def test_member_pages_of_another_collective_are_not_found(as_user, collective, coordinator, outsider):
    membership = Membership.objects.get(collective=collective, user=coordinator)
    client = as_user(outsider)
    assert client.get(reverse("members", args=[collective.slug])).status_code == 404
    assert client.post(reverse("membership_remove", args=[collective.slug, membership.pk])).status_code == 404
    own = Membership.objects.get(user=outsider)
    # A membership id of another collective, under my own collective's URL, is not found either.
    assert client.post(reverse("membership_roles", args=[own.collective.slug, membership.pk]),
                       {"roles": ["member"]}).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


# Invitation link ---------------------------------------------------------------------------------


def test_invitation_page_sends_a_visitor_to_sign_up_or_log_in_and_back(client, collective, coordinator):
    invitation = Invitation.objects.create(collective=collective, email="eve@example.org",
                                           roles=["contributor"], invited_by=coordinator)
    path = reverse("invitation_accept", args=[invitation.token])
    response = client.get(path)
    body = response.content.decode()
    assert response.status_code == 200
    assert "La Fabrique" in body and "contributor" in body
    assert f'{reverse("account_login")}?next={path}' in body
    assert f'{reverse("account_signup")}?next={path}' in body
    assert client.post(path).status_code == 200
    assert not Membership.objects.filter(user__email="eve@example.org").exists()


@pytest.mark.parametrize("state", ["revoked", "expired", "accepted"])
def test_a_used_invitation_link_says_it_cannot_be_used(as_user, collective, coordinator, state):
    now = timezone.now()
    fields = {"revoked": {"revoked_at": now}, "expired": {"expires_at": now - timedelta(days=1)},
              "accepted": {"accepted_at": now}}[state]
    invitation = Invitation.objects.create(collective=collective, email="eve@example.org", roles=["member"],
                                           invited_by=coordinator, **fields)
    user = UserFactory(email="eve@example.org")
    response = as_user(user).post(reverse("invitation_accept", args=[invitation.token]))
    assert response.status_code == 410
    assert "This invitation cannot be used" in response.content.decode()
    assert not Membership.objects.filter(user=user).exists()


def test_an_unknown_invitation_link_is_not_found(client):
    response = client.get(reverse("invitation_accept", args=["nope"]))
    assert response.status_code == 404
    assert "This invitation link is invalid." in response.content.decode()


# Audit log ---------------------------------------------------------------------------------------


def test_audit_log_shows_who_what_and_before_after_newest_first(as_user, collective, coordinator, member):
    membership = Membership.objects.get(collective=collective, user=member)
    services.membership_set_roles(membership=membership, actor=coordinator, roles=["accountant"])
    services.collective_update(collective=collective, actor=coordinator, name="La Grande Fabrique")
    response = as_user(coordinator).get(reverse("audit_log", args=[collective.slug]))
    events = list(response.context["page"].object_list)
    assert [event.action for event in events] == ["collective.updated", "membership.roles_changed"]
    body = response.content.decode()
    assert "roles changed" in body and "Alice" in body and "La Grande Fabrique" in body and "accountant" in body


def _events(collective, actor, count):
    AuditEvent.objects.bulk_create(
        AuditEvent(collective=collective, actor=actor, action="membership.added", target_label=f"p{i}",
                   after={"roles": ["member"]}) for i in range(count)
    )


@pytest.mark.parametrize("count", [3, 120])
def test_audit_log_query_count_does_not_grow_with_events(
    as_user, collective, coordinator, django_assert_max_num_queries, count
):
    other = UserFactory()
    _events(collective, other, count)
    client = as_user(coordinator)
    with django_assert_max_num_queries(8):  # the filters' choices take two: the actions and people of the log
        response = client.get(reverse("audit_log", args=[collective.slug]))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(count, 50)


def test_audit_log_paginates(as_user, collective, coordinator):
    _events(collective, coordinator, 60)
    response = as_user(coordinator).get(reverse("audit_log", args=[collective.slug]), {"page": 2})
    assert len(response.context["page"].object_list) == 10
    navigation = response.content.decode().split('<nav class="pagination"')[1].split("</nav>")[0]
    assert '<a href="?page=1" rel="prev">Newer</a>' in navigation and "Page 2 of 2" in navigation
    assert 'rel="next"' not in navigation


# Settings and tokens -----------------------------------------------------------------------------


def test_token_key_is_shown_once_after_creation(as_user):
    user = UserFactory()
    client = as_user(user)
    response = client.post(reverse("tokens"), {"name": "my script"}, follow=True)
    token = PersonalToken.objects.get(user=user)
    assert token.name == "my script"
    key = response.context["new_token"]["key"]
    assert key in response.content.decode() and token.key_hash == PersonalToken.hash_key(key)
    again = client.get(reverse("tokens")).content.decode()
    assert key not in again and "my script" in again and f"{key[:8]}…" in again


def test_token_with_no_name_is_a_field_error(as_user):
    user = UserFactory()
    response = as_user(user).post(reverse("tokens"), {"name": ""})
    assert response.context["form"].errors["name"]
    assert not PersonalToken.objects.exists()


def test_token_revoke_deletes_my_token_only(as_user):
    me, someone = UserFactory(), UserFactory()
    mine, _ = services.token_create(user=me, name="mine")
    theirs, _ = services.token_create(user=someone, name="theirs")
    client = as_user(me)
    assert client.post(reverse("token_revoke", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("token_revoke", args=[mine.pk])).status_code == 302
    assert list(PersonalToken.objects.all()) == [theirs]


def test_settings_page_links_to_two_factor_and_tokens(as_user):
    response = as_user(UserFactory()).get(reverse("settings"))
    body = response.content.decode()
    assert reverse("mfa_index") in body and reverse("tokens") in body


def test_two_factor_page_uses_the_site_layout(as_user):
    response = as_user(UserFactory()).get(reverse("mfa_index"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'href="/static/css/app.css"' in body and reverse("mfa_activate_totp") in body


# Accounts and language ---------------------------------------------------------------------------


def test_signup_page_uses_the_site_layout(client):
    response = client.get(reverse("account_signup"))
    body = response.content.decode()
    assert 'href="/static/css/app.css"' in body and 'name="email"' in body and 'class="topbar"' in body


def test_home_renders_in_french_when_the_language_is_fr(as_user, collective, member):
    client = as_user(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    body = client.get(reverse("home")).content.decode()
    assert "Mes collectifs" in body and "My collectives" not in body
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "My collectives" in client.get(reverse("home")).content.decode()


def test_language_switcher_sets_the_language(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"



def test_password_reset_page_sends_a_reset_link(client):
    UserFactory(email="dora@example.org")
    page = client.get(reverse("account_reset_password"))
    assert 'class="topbar"' in page.content.decode()
    response = client.post(reverse("account_reset_password"), {"email": "dora@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/password/reset/key/" in mail.outbox[0].body


def test_anyone_can_activate_totp_two_factor_authentication(client):
    user = UserFactory(email="dora@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    assert client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD}).url == reverse("home")

    # Activation asks for the password again first, on a page of the site's layout.
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    assert 'class="topbar"' in response.content.decode() and 'name="password"' in response.content.decode()
    client.post(response.redirect_chain[-1][0], {"password": PASSWORD})

    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    assert client.post(reverse("mfa_activate_totp"), {"code": code}).status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def test_removing_a_member_asks_for_confirmation_first(as_user, collective, coordinator, member):
    membership = Membership.objects.get(collective=collective, user=member)
    url = reverse("membership_remove", args=[collective.slug, membership.pk])
    dialog = as_user(coordinator).get(reverse("members", args=[collective.slug]),
                                      {"edit": membership.pk, "part": "dialog"}).content.decode()
    form = dialog.split(f'action="{url}"')[1].split(">")[0]
    assert "data-confirm=" in form and "will lose access to La Fabrique" in form
    confirm = as_user(coordinator).get(url)
    assert confirm.status_code == 200
    assert f"Remove {member.display_name}?" in confirm.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    as_user(coordinator).post(url)
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_leaving_asks_for_confirmation_first(as_user, collective, coordinator, member):
    membership = Membership.objects.get(collective=collective, user=member)
    confirm = as_user(member).get(reverse("membership_remove", args=[collective.slug, membership.pk]))
    assert confirm.status_code == 200
    assert f"Leave {collective.name}?" in confirm.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_a_member_cannot_open_the_removal_of_someone_else(as_user, collective, coordinator, member):
    other = Membership.objects.get(collective=collective, user=coordinator)
    response = as_user(member).get(reverse("membership_remove", args=[collective.slug, other.pk]))
    assert response.status_code == 403


def test_tokens_obtained_through_the_api_are_listed_with_a_useful_name(as_user, client, collective, member):
    with_verified_email(member)
    APIClient(REMOTE_ADDR=fresh_address()).post("/api/v1/auth/token/", {"email": member.email, "password": PASSWORD},
                                           format="json", HTTP_USER_AGENT="curl/8.5.0")
    token = PersonalToken.objects.get(user=member)
    assert "curl/8.5.0" in token.name and "API" in token.name
    page = as_user(member).get(reverse("tokens")).content.decode()
    assert token.name in page


def test_collective_pages_show_times_in_the_collective_time_zone(as_user, collective, coordinator):
    collective.timezone = "America/Montreal"
    collective.save(update_fields=["timezone"])
    AuditEvent.objects.create(collective=collective, action="collective.updated",
                              created_at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    page = as_user(coordinator).get(reverse("audit_log", args=[collective.slug])).content.decode()
    assert "2026-03-02T07:00:00-05:00" in page


def test_a_coordinator_edits_the_collective_settings_and_it_is_audited(as_user, collective, coordinator):
    url = reverse("collective_settings", args=[collective.slug])
    data = {"name": "La Fabrique", "currency": "eur", "locale": "en", "timezone": "America/Montreal",
            "description": "Un lieu."}
    response = as_user(coordinator).post(url, data)
    assert response.status_code == 302
    collective.refresh_from_db()
    assert (collective.name, collective.currency, collective.locale, collective.timezone) == (
        "La Fabrique", "EUR", "en", "America/Montreal")
    assert AuditEvent.objects.of(collective).filter(action="collective.updated").exists()


def test_an_unknown_time_zone_on_the_settings_page_is_a_field_error_and_nothing_is_saved(
    as_user, collective, coordinator
):
    url = reverse("collective_settings", args=[collective.slug])
    data = {"name": "Renamed", "currency": "EUR", "locale": "fr", "timezone": "Mars/Olympus", "description": ""}
    response = as_user(coordinator).post(url, data)
    assert response.status_code == 400
    assert response.context["form"].errors["timezone"]
    assert 'id="id_timezone"' in response.content.decode()
    collective.refresh_from_db()
    assert collective.name != "Renamed" and collective.timezone == "Europe/Paris"


def test_only_coordinators_open_the_collective_settings(as_user, collective, member):
    assert as_user(member).get(reverse("collective_settings", args=[collective.slug])).status_code == 403


@pytest.mark.parametrize("language", ["fr", "en"])
def test_not_found_and_forbidden_pages_are_translated_pages_of_the_site(settings, client, collective, member, language):
    settings.DEBUG = False
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(member)
    not_found = client.get("/c/no-such-collective/")
    forbidden = client.get(reverse("audit_log", args=[collective.slug]))
    assert not_found.status_code == 404 and forbidden.status_code == 403
    expected = {"fr": ("Page introuvable", "Accès non autorisé"), "en": ("Page not found", "Not allowed")}[language]
    assert expected[0] in not_found.content.decode() and reverse("home") in not_found.content.decode()
    assert expected[1] in forbidden.content.decode()
    assert reverse("collective_dashboard", args=[collective.slug]) in forbidden.content.decode()


def test_the_audit_log_writes_recorded_amounts_and_times_in_the_reader_language(client, as_user, collective,
                                                                               coordinator):
    AuditEvent.objects.create(collective=collective, action="payout.paid", before={"paid_at": None},
                              after={"amount": "1234.50", "paid_at": "2026-03-02T12:00:00+00:00",
                                     "on": "2026-03-02", "carried": True, "roles": ["member"]})
    english = as_user(coordinator).get(reverse("audit_log", args=[collective.slug])).content.decode()
    assert "1,234.50" in english and "03/02/2026 1 p.m." in english and "payout marked paid" in english
    assert "None" not in english and "True" not in english and "yes" in english
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(reverse("audit_log", args=[collective.slug])).content.decode()
    assert "1\u202f234,50" in french or "1 234,50" in french or "1\xa0234,50" in french
    assert "02/03/2026 13:00" in french and "rétribution marquée payée" in french and "oui" in french


def test_staff_manage_people_and_collectives_in_the_admin(client, collective, coordinator):
    staff = UserFactory(email="staff@example.org", is_staff=True, is_superuser=True)
    client.force_login(staff)
    for model in ("user", "collective", "membership", "invitation", "personaltoken", "auditevent"):
        assert client.get(reverse(f"admin:members_{model}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:members_collective_change", args=[collective.pk])).status_code == 200
    assert client.get(reverse("admin:members_user_add")).status_code == 200
    created = client.post(reverse("admin:members_user_add"),
                          {"email": "new@example.org", "password1": "x7-Long-Secret!", "password2": "x7-Long-Secret!",
                           "usable_password": "true"})
    assert created.status_code == 302
    assert User.objects.filter(email="new@example.org").exists()


def test_the_collective_dashboard_leads_to_every_section_the_roles_open(as_user, collective, member, accountant):
    page = as_user(member).get(reverse("collective_dashboard", args=[collective.slug])).content.decode()
    for name in ("contribution_declare", "contribution_list", "budget_list", "cobudget_rounds", "members"):
        assert f'href="{reverse(name, args=[collective.slug])}"' in page, name
    assert reverse("accounting_index", args=[collective.slug]) not in page
    page = as_user(accountant).get(reverse("collective_dashboard", args=[collective.slug])).content.decode()
    assert f'href="{reverse("accounting_index", args=[collective.slug])}"' in page
    assert f'href="{reverse("contribution_declare", args=[collective.slug])}"' not in page
