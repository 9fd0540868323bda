"""Password guessing meets one limit whatever the way in: the API's token endpoint, the web login, the admin.

The counters are allauth's `login_failed` rate limit, in the shared Redis cache (emptied before each test by
tests/members/conftest.py); each test also uses accounts and client addresses of its own.
"""

import uuid

import pytest
from allauth.account.models import EmailAddress
from allauth.core.internal.ratelimit import get_rates
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from members.models import PersonalToken
from tests.conftest import PASSWORD
from tests.factories import UserFactory, with_verified_email
from tests.members.test_api import current_code, fresh_address

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"detail", "code", "fields"}
TOKEN_URL = "/api/v1/auth/token/"
TOO_MANY = "Too many failed login attempts. Try again later."


def _rate(per: str):
    return next(rate for rate in get_rates(app="allauth.account", action="login_failed") if rate.per == per)


@pytest.fixture
def per_account():
    """How many failures an account may have in the window (allauth's default: 5 in 5 minutes)."""
    return _rate("key").amount


@pytest.fixture
def person(db):
    """An account nobody else uses, with a verified address, so that the web login lets it in at once."""
    user = UserFactory(email=f"guess-{uuid.uuid4().hex[:10]}@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def api_client() -> APIClient:
    return APIClient(REMOTE_ADDR=fresh_address(), HTTP_ACCEPT_LANGUAGE="en")


def web_client() -> Client:
    return Client(REMOTE_ADDR=fresh_address(), HTTP_ACCEPT_LANGUAGE="en")


def ask_token(email: str, password: str, **extra):
    """Each request from an address of its own: only the per-account counter can refuse it."""
    return api_client().post(TOKEN_URL, {"email": email, "password": password, **extra}, format="json")


def web_login(client: Client, email: str, password: str, next_url: str = ""):
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"login": email, "password": password})


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_the_limit_of_wrong_passwords_the_right_one_gets_no_token(person, per_account):
    for _ in range(per_account):
        wrong = ask_token(person.email, "not the password")
        assert wrong.status_code in (401, 403) and wrong.json()["code"] != "too_many_attempts"
    refused = ask_token(person.email, PASSWORD)
    assert refused.status_code == 429
    body = refused.json()
    assert set(body) == ERROR_KEYS and body["code"] == "too_many_attempts" and body["fields"] == {}
    assert body["detail"] == TOO_MANY
    assert not PersonalToken.objects.filter(user=person).exists()
    # The address is counted whatever its case or spaces.
    assert ask_token(f"  {person.email.upper()} ", PASSWORD).status_code == 429


def test_right_passwords_do_not_use_up_the_limit(person, per_account):
    for _ in range(per_account - 1):
        assert ask_token(person.email, "not the password").status_code in (401, 403)
    for _ in range(per_account + 1):
        assert ask_token(person.email, PASSWORD).status_code == 200
    assert ask_token(person.email, "not the password").status_code in (401, 403)
    assert ask_token(person.email, PASSWORD).status_code == 429


def test_failures_through_the_api_lock_the_web_login_too(person, per_account):
    for _ in range(per_account):
        ask_token(person.email, "not the password")
    client = web_client()
    response = web_login(client, person.email, PASSWORD)
    assert response.status_code == 200 and TOO_MANY in response.content.decode()
    assert not is_logged_in(client)


def test_failures_through_the_web_login_lock_the_api_too(person, per_account):
    for _ in range(per_account):
        client = web_client()
        response = web_login(client, person.email, "not the password")
        assert response.status_code == 200 and not is_logged_in(client)
    assert ask_token(person.email, PASSWORD).status_code == 429
    # Below the limit, the same web login lets the person in (the counter is the account's, not the form's).
    other = UserFactory(email=f"fine-{uuid.uuid4().hex[:10]}@example.org")
    EmailAddress.objects.create(user=other, email=other.email, verified=True, primary=True)
    client = web_client()
    assert web_login(client, other.email, PASSWORD).status_code == 302 and is_logged_in(client)


def test_failures_are_counted_per_client_address_too(db):
    """Guesses at many accounts from one address (through the web form here, below the API's own throttle)."""
    per_address = _rate("ip").amount
    address = fresh_address()
    web = Client(REMOTE_ADDR=address)
    for _ in range(per_address):
        assert web_login(web, f"nobody-{uuid.uuid4().hex[:8]}@example.org", "guess").status_code == 200
    target = with_verified_email(UserFactory(email=f"target-{uuid.uuid4().hex[:10]}@example.org"))
    refused = APIClient(REMOTE_ADDR=address).post(TOKEN_URL, {"email": target.email, "password": PASSWORD},
                                                  format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"
    # The account itself is not locked: from another address the right password works.
    assert ask_token(target.email, PASSWORD).status_code == 200


def test_the_admin_login_is_the_limited_login(person, per_account):
    person.is_staff = person.is_superuser = True
    person.save(update_fields=["is_staff", "is_superuser"])
    client = web_client()
    # The admin's own form is gone: it sends to the site's login, and a POST to it logs nobody in.
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url == reverse("account_login") + "?next=%2Fadmin%2F"
    posted = client.post("/admin/login/", {"username": person.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted.url.startswith(reverse("account_login"))
    assert not is_logged_in(client)

    for _ in range(per_account):
        web_login(web_client(), person.email, "not the password", next_url="/admin/")
    locked = web_login(client, person.email, PASSWORD, next_url="/admin/")
    assert locked.status_code == 200 and TOO_MANY in locked.content.decode()
    assert client.get("/admin/").status_code == 302


def test_staff_reach_the_admin_through_the_site_login(person):
    person.is_staff = person.is_superuser = True
    person.save(update_fields=["is_staff", "is_superuser"])
    client = web_client()
    response = web_login(client, person.email, PASSWORD, next_url="/admin/")
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    # Someone logged in without staff status is refused, not shown a second login form.
    plain = UserFactory(email=f"plain-{uuid.uuid4().hex[:10]}@example.org")
    other = web_client()
    other.force_login(plain)
    assert other.get("/admin/login/").status_code == 403


def test_wrong_two_factor_codes_through_the_api_meet_the_limit_too(person, per_account):
    secret = generate_totp_secret()
    TOTP.activate(person, secret)
    right = current_code(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(per_account):
        response = ask_token(person.email, PASSWORD, otp=wrong)
        assert response.status_code == 401 and response.json()["code"] == "otp_required"
    refused = ask_token(person.email, PASSWORD, otp=right)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"
    assert not PersonalToken.objects.filter(user=person).exists()


def test_a_request_without_a_code_is_no_guess(person, per_account):
    secret = generate_totp_secret()
    TOTP.activate(person, secret)
    for _ in range(per_account + 1):
        # Asking without a code only learns that a code is needed: it does not count.
        assert ask_token(person.email, PASSWORD).json()["code"] == "otp_required"
    for _ in range(per_account - 1):
        wrong = f"{(int(current_code(secret)) + 1) % 1_000_000:06d}"
        assert ask_token(person.email, PASSWORD, otp=wrong).status_code == 401
    # Read when it is sent: the requests above may have taken the code's window past its end.
    assert ask_token(person.email, PASSWORD, otp=current_code(secret)).status_code == 200


def _fail_from(address: str, forwarded_for: str = "") -> None:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    response = Client(REMOTE_ADDR=address, **extra).post(
        reverse("account_login"), {"login": f"nobody-{uuid.uuid4().hex[:8]}@example.org", "password": "guess"})
    assert response.status_code == 200


def _ask_from(address: str, email: str, forwarded_for: str):
    return APIClient(REMOTE_ADDR=address).post(TOKEN_URL, {"email": email, "password": PASSWORD}, format="json",
                                               HTTP_X_FORWARDED_FOR=forwarded_for)


def test_a_forged_forwarded_for_header_does_not_escape_the_login_limit(db):
    address = fresh_address()
    for _ in range(_rate("ip").amount):
        _fail_from(address, forwarded_for=fresh_address())
    target = UserFactory(email=f"target-{uuid.uuid4().hex[:10]}@example.org")
    refused = _ask_from(address, target.email, forwarded_for=fresh_address())
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"


def test_behind_a_trusted_proxy_the_limit_counts_the_forwarded_client_address(db, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy, guesser, neighbour = fresh_address(), fresh_address(), fresh_address()
    for _ in range(_rate("ip").amount):
        _fail_from(proxy, forwarded_for=guesser)
    target = with_verified_email(UserFactory(email=f"target-{uuid.uuid4().hex[:10]}@example.org"))
    assert _ask_from(proxy, target.email, forwarded_for=neighbour).status_code == 200
    refused = _ask_from(proxy, target.email, forwarded_for=f"{fresh_address()}, {guesser}")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"


@pytest.mark.parametrize("forwarded_for", [None, "", "  ", "203.0.113.7", "not an address", "203.0.113.7, junk"])
def test_behind_trusted_proxies_a_short_or_missing_forwarded_for_header_still_logs_in(settings, person,
                                                                                     forwarded_for):
    """allauth alone raises ImproperlyConfigured (a 500) when X-Forwarded-For has fewer entries than trusted
    proxies: a request that did not come through them all, or a header a client wrote."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 3
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 3}
    extra = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    token = APIClient(REMOTE_ADDR=fresh_address()).post(
        TOKEN_URL, {"email": person.email, "password": PASSWORD}, format="json", **extra)
    assert token.status_code == 200, token.content
    web = Client(REMOTE_ADDR=fresh_address(), **extra).post(
        reverse("account_login"), {"login": person.email, "password": PASSWORD})
    assert web.status_code == 302 and web.url == reverse("home")
    failed = Client(REMOTE_ADDR=fresh_address(), **extra).post(
        reverse("account_login"), {"login": person.email, "password": "guess"})
    assert failed.status_code == 200


def test_with_fewer_forwarded_entries_than_proxies_the_limit_counts_the_leftmost_one(settings):
    """As the throttles do (DRF's NUM_PROXIES): the leftmost entry there is, else REMOTE_ADDR."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    proxy, guesser, neighbour = fresh_address(), fresh_address(), fresh_address()
    for _ in range(_rate("ip").amount):
        _fail_from(proxy, forwarded_for=guesser)
    target = with_verified_email(UserFactory(email=f"target-{uuid.uuid4().hex[:10]}@example.org"))
    assert _ask_from(proxy, target.email, forwarded_for=neighbour).status_code == 200
    assert _ask_from(fresh_address(), target.email, forwarded_for="").status_code == 200
    refused = _ask_from(fresh_address(), target.email, forwarded_for=guesser)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"
    # An entry that is no address: REMOTE_ADDR counts.
    for _ in range(_rate("ip").amount):
        _fail_from(proxy, forwarded_for="unknown")
    refused = _ask_from(proxy, target.email, forwarded_for="unknown")
    assert refused.status_code == 429
    assert _ask_from(fresh_address(), target.email, forwarded_for="unknown").status_code == 200
