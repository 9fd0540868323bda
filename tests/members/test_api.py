import hashlib
import time
import uuid

import pytest
from allauth.account.models import EmailAddress
from allauth.core.internal.ratelimit import get_rates
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from budgets.ledger import account_get_or_create
from budgets.models import AccountKind
from contrib_budget.errors import DomainError
from members import services
from members.models import AuditEvent, Collective, Invitation, Membership, PersonalToken
from tests.conftest import PASSWORD
from tests.factories import CollectiveFactory, MembershipFactory, UserFactory, with_verified_email
from tests.threads import run_concurrently

ERROR_KEYS = {"detail", "code", "fields"}


def fresh_address() -> str:
    """A client address of its own: the throttle counts live in the shared cache across runs."""
    return "10." + ".".join(str(byte) for byte in uuid.uuid4().bytes[:3])


def members_url(collective, pk=None):
    return f"/api/v1/collectives/{collective.slug}/members/" + (f"{pk}/" if pk else "")


def membership_of(collective, user):
    return Membership.objects.get(collective=collective, user=user)


# Collectives


def test_the_list_holds_only_my_collectives_with_my_roles(api, collective, member, outsider):
    CollectiveFactory(slug="not-mine")
    response = api(member).get("/api/v1/collectives/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["results"][0]["slug"] == collective.slug
    assert body["results"][0]["my_roles"] == ["member", "contributor"]


def test_creating_a_collective_makes_me_its_coordinator_and_is_audited(api, member):
    response = api(member).post("/api/v1/collectives/", {"name": "Le Jardin", "slug": "le-jardin"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["currency"] == "EUR" and body["locale"] == "fr" and body["timezone"] == "Europe/Paris"
    collective = Collective.objects.get(slug="le-jardin")
    assert membership_of(collective, member).roles == ["coordinator"]
    assert AuditEvent.objects.of(collective).filter(action="collective.created", actor=member).exists()


def test_a_bad_slug_is_a_field_error(api, member):
    response = api(member).post("/api/v1/collectives/", {"name": "X", "slug": "Not A Slug!"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS and "slug" in response.json()["fields"]
    assert not Collective.objects.filter(name="X").exists()


def test_a_coordinator_edits_the_collective_and_the_change_is_audited(api, collective, coordinator):
    response = api(coordinator).patch(f"/api/v1/collectives/{collective.slug}/",
                                      {"description": "Un tiers-lieu", "currency": "CHF"}, format="json")
    assert response.status_code == 200, response.json()
    collective.refresh_from_db()
    assert (collective.description, collective.currency) == ("Un tiers-lieu", "CHF")
    event = AuditEvent.objects.of(collective).get(action="collective.updated")
    assert event.before["currency"] == "EUR" and event.after["currency"] == "CHF"
    assert event.actor == coordinator


def test_editing_the_collective_with_an_unknown_currency_saves_nothing(api, collective, coordinator):
    response = api(coordinator).patch(f"/api/v1/collectives/{collective.slug}/",
                                      {"currency": "XYZ", "name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert "currency" in response.json()["fields"]
    collective.refresh_from_db()
    assert (collective.name, collective.currency) == ("La Fabrique", "EUR")


def test_the_currency_is_locked_once_the_ledger_has_accounts(api, collective, coordinator):
    account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code="budget", name="Budget")
    response = api(coordinator).patch(f"/api/v1/collectives/{collective.slug}/", {"currency": "USD"},
                                      format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "currency_locked"
    assert "currency" in response.json()["fields"]
    collective.refresh_from_db()
    assert collective.currency == "EUR"


def test_a_member_reads_the_collective_with_their_roles(api, collective, member):
    response = api(member).get(f"/api/v1/collectives/{collective.slug}/")
    assert response.status_code == 200
    assert response.json()["slug"] == collective.slug and response.json()["my_roles"] == ["member", "contributor"]


# Members


def test_members_list_items_carry_id_email_name_and_roles(api, collective, coordinator, member, accountant):
    response = api(member).get(members_url(collective))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 3
    alice = next(item for item in body["results"] if item["email"] == "alice@example.org")
    assert {"id", "email", "name", "roles"} <= set(alice)
    assert alice["id"] == membership_of(collective, coordinator).pk
    assert alice["name"] == "Alice" and alice["roles"] == ["coordinator", "member"]


def test_the_members_list_is_paginated(api, collective, coordinator):
    for _ in range(3):
        MembershipFactory(collective=collective)
    body = api(coordinator).get(members_url(collective), {"page_size": 2}).json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]


def test_inviting_an_existing_person_adds_nobody_and_answers_an_invitation(api, collective, coordinator):
    person = UserFactory(email="dana@example.org")
    response = api(coordinator).post(members_url(collective), {"email": "Dana@Example.org",
                                                                "roles": ["member", "contributor"]}, format="json")
    assert response.status_code == 202, response.json()
    invitation = Invitation.objects.of(collective).get(email="dana@example.org")
    assert response.json()["invitation"] == invitation.pk and invitation.roles == ["contributor", "member"]
    assert "name" not in response.json()
    assert not Membership.objects.filter(collective=collective, user=person).exists()
    assert not AuditEvent.objects.of(collective).filter(action="membership.added").exists()


def test_adding_someone_already_member_is_refused(api, collective, coordinator, member):
    response = api(coordinator).post(members_url(collective), {"email": member.email, "roles": ["member"]},
                                     format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "already_member" and "email" in response.json()["fields"]


def test_an_unknown_email_receives_an_invitation(api, collective, coordinator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(coordinator).post(members_url(collective), {"email": "newcomer@example.org",
                                                                    "roles": ["accountant"]}, format="json")
    assert response.status_code == 202, response.json()
    invitation = Invitation.objects.of(collective).get(email="newcomer@example.org")
    assert response.json()["invitation"] == invitation.pk and invitation.roles == ["accountant"]
    assert not Membership.objects.filter(user__email="newcomer@example.org").exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["newcomer@example.org"]
    assert f"/invitations/{invitation.token}/" in mail.outbox[0].body


def test_an_unknown_role_is_a_field_error_and_nothing_is_saved(api, collective, coordinator):
    person = UserFactory(email="dana@example.org")
    for email in (person.email, "unknown@example.org"):
        response = api(coordinator).post(members_url(collective), {"email": email, "roles": ["member", "boss"]},
                                         format="json")
        assert response.status_code == 400
        assert set(response.json()) == ERROR_KEYS and "roles" in response.json()["fields"]
    assert not Membership.objects.filter(user=person).exists()
    assert not Invitation.objects.exists()


def test_a_coordinator_changes_roles(api, collective, coordinator, member):
    target = membership_of(collective, member)
    response = api(coordinator).patch(members_url(collective, target.pk), {"roles": ["accountant", "member"]},
                                      format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["roles"] == ["member", "accountant"]
    target.refresh_from_db()
    assert target.roles == ["member", "accountant"]
    event = AuditEvent.objects.of(collective).get(action="membership.roles_changed")
    assert event.before == {"roles": ["member", "contributor"]}


def test_changing_roles_needs_roles(api, collective, coordinator, member):
    target = membership_of(collective, member)
    response = api(coordinator).patch(members_url(collective, target.pk), {"roles": []}, format="json")
    assert response.status_code == 400 and "roles" in response.json()["fields"]
    response = api(coordinator).patch(members_url(collective, target.pk), {}, format="json")
    assert response.status_code == 400 and "roles" in response.json()["fields"]


def test_demoting_the_last_coordinator_is_refused(api, collective, coordinator, member):
    mine = membership_of(collective, coordinator)
    response = api(coordinator).patch(members_url(collective, mine.pk), {"roles": ["member"]}, format="json",
                                      HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "last_coordinator" and "roles" in body["fields"]
    assert body["detail"] == "A collective always keeps at least one coordinator."
    mine.refresh_from_db()
    assert "coordinator" in mine.roles


def test_the_last_coordinator_cannot_leave_or_be_removed(api, collective, coordinator, member):
    mine = membership_of(collective, coordinator)
    response = api(coordinator).delete(members_url(collective, mine.pk))
    assert response.status_code == 400 and response.json()["code"] == "last_coordinator"
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_a_coordinator_may_step_down_once_another_is_named(api, collective, coordinator, member):
    api(coordinator).patch(members_url(collective, membership_of(collective, member).pk),
                           {"roles": ["coordinator"]}, format="json")
    mine = membership_of(collective, coordinator)
    response = api(coordinator).patch(members_url(collective, mine.pk), {"roles": ["member"]}, format="json")
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_demotions_of_the_last_two_coordinators_leave_one():
    collective = CollectiveFactory()
    first, second = (MembershipFactory(collective=collective, roles=["coordinator"]) for _ in range(2))

    def demote(index):
        membership = (first, second)[index]
        return services.membership_set_roles(membership=membership, actor=membership.user, roles=["member"]).pk

    results, errors = run_concurrently(demote, 2)
    assert len(results) == 1
    assert len(errors) == 1 and isinstance(errors[0], DomainError) and errors[0].code == "last_coordinator"
    assert Membership.objects.of(collective).filter(roles__contains=["coordinator"]).count() == 1


def test_a_member_leaves_by_deleting_their_own_membership(api, collective, coordinator, member):
    mine = membership_of(collective, member)
    response = api(member).delete(members_url(collective, mine.pk))
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=mine.pk).exists()
    assert AuditEvent.objects.of(collective).filter(action="membership.left", actor=member).exists()
    assert api(member).get(f"/api/v1/collectives/{collective.slug}/").status_code == 404


def test_a_coordinator_removes_a_member(api, collective, coordinator, member):
    target = membership_of(collective, member)
    assert api(coordinator).delete(members_url(collective, target.pk)).status_code == 204
    assert AuditEvent.objects.of(collective).filter(action="membership.removed").exists()


def test_a_member_of_another_collective_is_not_found_here(api, collective, coordinator, outsider):
    theirs = Membership.objects.get(user=outsider)
    response = api(coordinator).patch(members_url(collective, theirs.pk), {"roles": ["member"]}, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.roles == ["coordinator"]


# Error shape


def test_every_error_has_the_same_shape(api, collective, coordinator, member, outsider):
    validation = api(coordinator).post(members_url(collective), {"email": "not-an-email", "roles": ["member"]},
                                       format="json")
    forbidden = api(member).post(members_url(collective), {"email": "x@example.org", "roles": ["member"]},
                                 format="json")
    not_found = api(outsider).get(members_url(collective))
    domain = api(coordinator).patch(members_url(collective, membership_of(collective, coordinator).pk),
                                    {"roles": ["member"]}, format="json")
    for response, status in ((validation, 400), (forbidden, 403), (not_found, 404), (domain, 400)):
        assert response.status_code == status
        body = response.json()
        assert set(body) == ERROR_KEYS, body
        assert body["detail"] and body["code"] and isinstance(body["fields"], dict)
    assert "email" in validation.json()["fields"]
    assert forbidden.json()["fields"] == {} and not_found.json()["fields"] == {}


# Tokens and documentation


def test_a_token_from_email_and_password_authenticates_api_calls(collective, member):
    with_verified_email(member)
    client = APIClient(REMOTE_ADDR=fresh_address())
    response = client.post("/api/v1/auth/token/", {"email": "BOB@example.org", "password": PASSWORD},
                           format="json")
    assert response.status_code == 200, response.json()
    token = response.json()["token"]
    assert set(response.json()) == {"token"}

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get("/api/v1/collectives/")
    assert listed.status_code == 200 and listed.json()["results"][0]["slug"] == collective.slug


def test_only_a_digest_of_the_token_is_stored(collective, member):
    with_verified_email(member)
    client = APIClient(REMOTE_ADDR=fresh_address())
    key = client.post("/api/v1/auth/token/", {"email": member.email, "password": PASSWORD},
                      format="json").json()["token"]
    stored = PersonalToken.objects.get(user=member)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest() and stored.prefix == key[:8]
    assert not PersonalToken.objects.filter(key_hash=key).exists()
    client.credentials(HTTP_AUTHORIZATION=f"Token {stored.key_hash}")
    assert client.get("/api/v1/collectives/").status_code in (401, 403)


@pytest.fixture
def totp_secret(member):
    secret = generate_totp_secret()
    TOTP.activate(member, secret)
    return secret


# A code read this close to the end of its window may reach the server in the next one, which refuses it (no
# tolerance): the tests wait for the next window instead.
CODE_MARGIN_SECONDS = 5


def current_code(secret: str) -> str:
    """The secret's code now, valid for CODE_MARGIN_SECONDS at least."""
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < CODE_MARGIN_SECONDS:
        time.sleep(left)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def test_with_two_factor_on_a_password_alone_gets_no_token(collective, member, totp_secret):
    with_verified_email(member)
    response = APIClient(REMOTE_ADDR=fresh_address()).post(
        "/api/v1/auth/token/", {"email": member.email, "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "otp_required" and "otp" in response.json()["fields"]
    assert not PersonalToken.objects.filter(user=member).exists()


def test_with_two_factor_on_a_wrong_code_gets_no_token(collective, member, totp_secret):
    with_verified_email(member)
    wrong = f"{(int(current_code(totp_secret)) + 1) % 1_000_000:06d}"
    response = APIClient(REMOTE_ADDR=fresh_address()).post(
        "/api/v1/auth/token/", {"email": member.email, "password": PASSWORD, "otp": wrong}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "otp_required"
    assert not PersonalToken.objects.filter(user=member).exists()


def test_with_two_factor_on_the_current_code_gets_a_token_once(collective, member, totp_secret):
    with_verified_email(member)
    client = APIClient(REMOTE_ADDR=fresh_address())
    credentials = {"email": member.email, "password": PASSWORD, "otp": current_code(totp_secret)}
    response = client.post("/api/v1/auth/token/", credentials, format="json")
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/collectives/").status_code == 200
    replayed = APIClient(REMOTE_ADDR=fresh_address()).post("/api/v1/auth/token/", credentials, format="json")
    assert replayed.status_code == 401


def test_a_wrong_password_gets_no_token(collective, member):
    response = APIClient(REMOTE_ADDR=fresh_address()).post(
        "/api/v1/auth/token/", {"email": member.email, "password": "wrong"}, format="json")
    assert response.status_code in (401, 403)
    assert set(response.json()) == ERROR_KEYS


def _ask_token(email: str, password: str = PASSWORD):
    return APIClient(REMOTE_ADDR=fresh_address(), HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json")


def test_an_unconfirmed_address_gets_no_token_as_it_may_not_log_in_on_the_site(collective, member, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    # No address on record (an account made by hand), then one not confirmed yet (just signed up).
    for state in ("none", "unconfirmed"):
        if state == "unconfirmed":  # the web login below added it, unconfirmed, and sent the link
            assert EmailAddress.objects.filter(user=member, email=member.email, verified=False).exists()
        response = _ask_token(member.email.upper())
        assert response.status_code == 403, (state, response.content)
        assert set(response.json()) == ERROR_KEYS and response.json()["code"] == "email_not_verified"
        assert "confirm" in response.json()["detail"].lower() and list(response.json()["fields"]) == ["email"]
        web = Client(REMOTE_ADDR=fresh_address())
        web.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
        assert "_auth_user_id" not in web.session, state
    assert not PersonalToken.objects.filter(user=member).exists()
    # Only the right password learns that the address is unconfirmed.
    assert _ask_token(member.email, "wrong").json()["code"] == "authentication_failed"
    EmailAddress.objects.filter(user=member).update(verified=True)
    assert _ask_token(member.email).status_code == 200


def test_an_unconfirmed_address_gets_a_token_when_confirming_is_optional(collective, member, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    EmailAddress.objects.create(user=member, email=member.email, verified=False, primary=True)
    assert _ask_token(member.email).status_code == 200


def test_an_unconfirmed_address_is_refused_before_any_two_factor_code_is_counted(collective, member, totp_secret):
    per_account = next(rate.amount for rate in get_rates(app="allauth.account", action="login_failed")
                       if rate.per == "key")
    wrong = f"{(int(current_code(totp_secret)) + 1) % 1_000_000:06d}"
    for _ in range(per_account + 1):
        response = APIClient(REMOTE_ADDR=fresh_address()).post(
            "/api/v1/auth/token/", {"email": member.email, "password": PASSWORD, "otp": wrong}, format="json")
        assert response.json()["code"] == "email_not_verified"
    with_verified_email(member)
    response = APIClient(REMOTE_ADDR=fresh_address()).post(
        "/api/v1/auth/token/", {"email": member.email, "password": PASSWORD, "otp": current_code(totp_secret)},
        format="json")
    assert response.status_code == 200, response.json()


def test_a_revoked_or_made_up_token_is_refused(collective, member):
    token, key = services.token_create(user=member, name="laptop")
    services.token_revoke(token=token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/collectives/")
    assert response.status_code in (401, 403) and set(response.json()) == ERROR_KEYS


def test_the_api_needs_authentication(collective):
    response = APIClient().get("/api/v1/collectives/")
    assert response.status_code in (401, 403) and set(response.json()) == ERROR_KEYS


@pytest.mark.django_db
def test_the_openapi_schema_and_its_browsable_docs_render(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/collectives/{collective_slug}/members/" in paths
    assert "/api/v1/auth/token/" in paths
    assert client.get("/api/v1/docs/").status_code == 200


def test_an_unknown_time_zone_is_a_field_error_and_nothing_is_saved(api, member, collective, coordinator):
    before = Collective.objects.count()
    created = api(member).post("/api/v1/collectives/", {"name": "X", "slug": "x-tz", "timezone": "Mars/Olympus"},
                               format="json")
    assert created.status_code == 400 and set(created.json()) == ERROR_KEYS
    assert "timezone" in created.json()["fields"]
    assert Collective.objects.count() == before

    patched = api(coordinator).patch(f"/api/v1/collectives/{collective.slug}/", {"timezone": "Paris"}, format="json")
    assert patched.status_code == 400 and "timezone" in patched.json()["fields"]
    collective.refresh_from_db()
    assert collective.timezone == "Europe/Paris"
    with pytest.raises(DomainError) as error:
        services.collective_update(collective=collective, actor=coordinator, timezone="Nowhere/Land")
    assert "timezone" in error.value.fields


def test_asking_for_tokens_is_throttled_per_address(collective, member):
    with_verified_email(member)
    client = APIClient(REMOTE_ADDR=fresh_address())
    credentials = {"email": member.email, "password": PASSWORD}
    statuses = [client.post("/api/v1/auth/token/", credentials, format="json").status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    throttled = client.post("/api/v1/auth/token/", credentials, format="json")
    assert set(throttled.json()) == ERROR_KEYS and throttled.json()["code"] == "throttled"
    assert throttled.headers["Retry-After"]


def test_an_unknown_role_is_a_flat_field_error_naming_the_role(api, collective, coordinator, member):
    response = api(coordinator).post(members_url(collective), {"email": "new@example.org", "roles": ["member", "boss"]},
                                     format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_choice"
    assert isinstance(body["fields"]["roles"], list) and "boss" in body["fields"]["roles"][0]
    assert not Invitation.objects.filter(email="new@example.org").exists()
    target = membership_of(collective, member)
    patched = api(coordinator).patch(members_url(collective, target.pk), {"roles": ["chief"]}, format="json")
    assert patched.status_code == 400 and isinstance(patched.json()["fields"]["roles"], list)


@pytest.mark.django_db
def test_the_schema_documents_the_token_endpoint_errors(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert {"200", "400", "401", "429"} <= set(responses)
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"detail", "code", "fields"}


def test_a_forged_forwarded_for_header_does_not_escape_the_token_throttle(collective, member):
    with_verified_email(member)
    client = APIClient(REMOTE_ADDR=fresh_address())
    credentials = {"email": member.email, "password": PASSWORD}
    statuses = [
        client.post("/api/v1/auth/token/", credentials, format="json", HTTP_X_FORWARDED_FOR=fresh_address()).status_code
        for _ in range(11)
    ]
    assert statuses[-1] == 429
