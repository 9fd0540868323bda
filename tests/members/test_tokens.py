"""Personal API tokens: an optional expiry, a last-use date, and one token per name."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from members import services
from members.models import PersonalToken
from tests.conftest import PASSWORD
from tests.factories import UserFactory, with_verified_email
from tests.members.test_api import fresh_address
from tests.threads import run_concurrently

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def call_with(key: str, path: str = "/api/v1/collectives/", **extra):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(path, **extra)


def ask_token(user, user_agent="", **fields):
    with_verified_email(user)
    return APIClient(REMOTE_ADDR=fresh_address()).post(
        TOKEN_URL, {"email": user.email, "password": PASSWORD, **fields}, format="json", HTTP_USER_AGENT=user_agent)


# Expiry ----------------------------------------------------------------------------------------------


def test_without_personal_token_days_a_token_never_expires(member, settings):
    settings.PERSONAL_TOKEN_DAYS = None
    token, key = services.token_create(user=member, name="script")
    assert token.expires_at is None
    assert call_with(key).status_code == 200


def test_a_token_expires_after_personal_token_days_and_is_refused_with_401(member, collective, settings):
    settings.PERSONAL_TOKEN_DAYS = 30
    key = ask_token(member, "backup-script/1.0").json()["token"]
    token = PersonalToken.objects.get(user=member)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert call_with(key).status_code == 200

    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save(update_fields=["expires_at"])
    refused = call_with(key, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "This token has expired: ask for a new one.", "code": "token_expired",
                              "fields": {}}
    assert refused.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("value", "expected"), [(None, "None 2 2"), ("0", "None 2 2"), ("30", "30 2 2")])
def test_token_expiry_and_proxies_are_read_from_the_environment(value, expected):
    """PERSONAL_TOKEN_DAYS unset or 0: no expiry; allauth trusts as many proxies as the throttles (NUM_PROXIES)."""
    environment = {k: v for k, v in os.environ.items() if k != "PERSONAL_TOKEN_DAYS"}
    environment["NUM_PROXIES"] = "2"
    if value is not None:
        environment["PERSONAL_TOKEN_DAYS"] = value
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.PERSONAL_TOKEN_DAYS, s.ALLAUTH_TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK['NUM_PROXIES'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True,
                            env={**environment, "DJANGO_SETTINGS_MODULE": "contrib_budget.settings"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


# On a collective's endpoint ------------------------------------------------------------------------------


def test_on_a_collectives_endpoint_the_token_is_read_with_the_membership_and_refused_as_anywhere(
        member, collective, outsider):
    """One query finds the token and the person's membership of the collective named by the address; an unknown
    or expired token is refused there as it is elsewhere, and a stranger's good token finds nothing (404)."""
    token, key = services.token_create(user=member, name="script")
    path = f"/api/v1/collectives/{collective.slug}/members/"
    assert call_with(key, path).status_code == 200  # the token's first use is written
    with CaptureQueriesContext(connection) as queries:
        assert call_with(key, path).status_code == 200
    # The token, or the membership found by the collective's slug (the list itself reads memberships too).
    reads = [query["sql"] for query in queries
             if "members_personaltoken" in query["sql"] or '"members_collective"."slug" =' in query["sql"]]
    assert len(reads) == 1 and "members_personaltoken" in reads[0], reads

    unknown = call_with("not-a-token", path, HTTP_ACCEPT_LANGUAGE="en")
    assert (unknown.status_code, unknown.json()) == (403, {"detail": "Invalid token.",
                                                           "code": "authentication_failed", "fields": {}})
    _theirs, stranger_key = services.token_create(user=outsider, name="script")
    assert call_with(stranger_key, path).status_code == 404
    PersonalToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = call_with(key, path, HTTP_ACCEPT_LANGUAGE="en")
    assert expired.status_code == 401 and expired.json()["code"] == "token_expired"


def test_on_a_collectives_endpoint_the_last_use_is_written_too(member, collective):
    token, key = services.token_create(user=member, name="script")
    PersonalToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    assert call_with(key, f"/api/v1/collectives/{collective.slug}/members/").status_code == 200
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(seconds=10)


# Last use ----------------------------------------------------------------------------------------------


def test_the_last_use_is_written_at_most_once_a_minute(member, collective):
    token, key = services.token_create(user=member, name="script")
    assert token.last_used_at is None
    assert call_with(key).status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=10)

    with CaptureQueriesContext(connection) as queries:
        assert call_with(key).status_code == 200
    assert not [query for query in queries if "members_personaltoken" in query["sql"] and "UPDATE" in query["sql"]]
    token.refresh_from_db()
    assert token.last_used_at == first

    PersonalToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    assert call_with(key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first


def test_a_refused_call_does_not_count_as_a_use(member):
    token, key = services.token_create(user=member, name="script")
    PersonalToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert call_with(key).status_code == 401
    token.refresh_from_db()
    assert token.last_used_at is None


# One token per name ------------------------------------------------------------------------------------


def test_a_token_request_from_the_same_client_replaces_the_previous_token(member, collective):
    first = ask_token(member, "backup-script/1.0").json()["token"]
    second = ask_token(member, "backup-script/1.0").json()["token"]
    assert first != second
    assert PersonalToken.objects.filter(user=member).count() == 1
    assert call_with(first).status_code in (401, 403)
    assert call_with(second).status_code == 200

    other = ask_token(member, "curl/8.5.0").json()["token"]
    assert PersonalToken.objects.filter(user=member).count() == 2
    assert call_with(other).status_code == 200 and call_with(second).status_code == 200


def test_the_name_of_an_api_token_names_the_client_and_not_the_time(member, collective):
    member.language = "en"
    member.save(update_fields=["language"])
    ask_token(member, "curl/8.5.0")
    ask_token(member, "")
    assert sorted(PersonalToken.objects.filter(user=member).values_list("name", flat=True)) == [
        "API login", "API login (curl/8.5.0)",
    ]


def test_the_name_of_an_api_token_is_in_the_persons_language(member, collective):
    member.language = "fr"
    member.save(update_fields=["language"])
    ask_token(member, "curl/8.5.0")
    assert PersonalToken.objects.get(user=member).name == "Connexion API (curl/8.5.0)"


def test_a_token_request_may_name_its_token(member, collective):
    first = ask_token(member, "curl/8.5.0", name="nightly export").json()["token"]
    second = ask_token(member, "python-requests/2.32", name="nightly export").json()["token"]
    token = PersonalToken.objects.get(user=member)
    assert token.name == "nightly export" and token.key_hash == PersonalToken.hash_key(second)
    assert call_with(first).status_code in (401, 403)


def test_a_wrong_two_factor_code_leaves_the_previous_token_in_place(member, collective):
    key = ask_token(member, "curl/8.5.0").json()["token"]
    TOTP.activate(member, generate_totp_secret())
    assert ask_token(member, "curl/8.5.0", otp="000000").status_code == 401
    assert call_with(key).status_code == 200


def test_creating_a_token_on_the_page_with_a_name_in_use_replaces_it(client, member, collective):
    _old, old_key = services.token_create(user=member, name="laptop")
    services.token_create(user=member, name="phone")
    client.force_login(member)
    client.post(reverse("tokens"), {"name": "laptop"})
    assert sorted(PersonalToken.objects.filter(user=member).values_list("name", flat=True)) == ["laptop", "phone"]
    assert call_with(old_key).status_code in (401, 403)


# The tokens page -------------------------------------------------------------------------------------


def test_the_tokens_page_shows_expiry_and_last_use(client, member, collective, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    settings.PERSONAL_TOKEN_DAYS = None
    services.token_create(user=member, name="forever")
    settings.PERSONAL_TOKEN_DAYS = 90
    _used, key = services.token_create(user=member, name="used")
    call_with(key)
    expired, _key = services.token_create(user=member, name="old")
    PersonalToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))

    client.force_login(member)
    page = client.get(reverse("tokens")).content.decode()
    items = {}
    for name in ("forever", "used", "old"):
        start = page.index(f"<strong>{name}</strong>")
        items[name] = page[start:page.index("</li>", start)]
    assert "never used" in items["forever"] and "does not expire" in items["forever"]
    assert "last used" in items["used"] and "expires" in items["used"]
    assert "expired" in items["old"] and "never used" in items["old"] and "expires" not in items["old"]
    assert "expired" not in items["used"]
    assert "same name" in page  # the form says that a name in use is replaced


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_for_one_name_leave_one_working_token():
    person = UserFactory(email="racer@example.org")
    results, errors = run_concurrently(lambda index: services.token_create(user=person, name="ci")[1], 8)
    assert errors == [] and len(results) == 8
    token = PersonalToken.objects.get(user=person)
    assert token.key_hash in {PersonalToken.hash_key(key) for key in results}
