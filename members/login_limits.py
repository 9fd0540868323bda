"""One limit on password guesses, whatever the way in.

The web login form (allauth), the admin login (members/admin.py sends it to that form) and
`POST /api/v1/auth/token/` count failed logins in allauth's `login_failed` rate limit: one counter per
account (keyed like allauth's own form) and one per client address, both in the shared cache. A failure
through one way counts for the others; once an account's limit is reached, even the right password is
refused until the window has passed. The limits are allauth's (`ACCOUNT_RATE_LIMITS["login_failed"]`,
by default 10 a minute per address and 5 per 5 minutes per account); the client address is read as
`ALLAUTH_TRUSTED_PROXY_COUNT` says (settings: the same as the throttles' `NUM_PROXIES`), by
`client_address` (members/adapter.py hands it to allauth).

Two-factor codes sent to the token endpoint count in the limit allauth's own two-factor form uses.
"""

import ipaddress
from contextlib import contextmanager

from allauth import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from allauth.core import ratelimit
from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.http.request import split_domain_port

from contrib_budget.errors import DomainError

LIMIT_REACHED_CODE = "too_many_login_attempts"  # allauth's code for its own refusal


class TooManyLoginAttempts(DomainError):
    """Too many failed logins for this account or from this address: wait, even with the right password."""

    status_code = 429
    default_code = "too_many_attempts"


def _address(value: str) -> str | None:
    """`value` as a normalised IP address (a port after it dropped), or None when it is none."""
    value = value.strip()
    try:
        host, port = split_domain_port(value)
        if host and port:
            value = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client address failed logins are counted against, read as DRF's throttles read it (NUM_PROXIES).

    With N trusted proxies (ALLAUTH_TRUSTED_PROXY_COUNT), the X-Forwarded-For entry the outermost one wrote: the
    N-th from the right. A request with fewer entries (one that did not come through every proxy, or whose header
    a client wrote) counts against the leftmost entry there is, as the throttles do, where allauth alone raises
    ImproperlyConfigured, a server error. No header, or an entry that is not an IP address: REMOTE_ADDR; None
    when even that is no address."""
    count = allauth_settings.TRUSTED_PROXY_COUNT
    forwarded = request.headers.get("X-Forwarded-For", "")
    if count > 0 and forwarded.strip():
        entries = forwarded.split(",")
        address = _address(entries[-min(count, len(entries))])
        if address is not None:
            return address
    return _address(request.META.get("REMOTE_ADDR") or "")


def _refusal(error: ValidationError) -> TooManyLoginAttempts:
    # allauth's own (translated) message: "Too many failed login attempts. Try again later."
    return TooManyLoginAttempts(" ".join(error.messages))


def authenticate(request: HttpRequest, *, email: str, password: str):
    """The account these credentials open, or None; counts a failure as allauth's login form does, and raises
    TooManyLoginAttempts once the limit is reached (before the password is even checked)."""
    try:
        return get_adapter(request).authenticate(request, email=email.strip().lower(), password=password)
    except ValidationError as error:
        if error.code == LIMIT_REACHED_CODE:
            raise _refusal(error) from None
        raise


def _second_factor_key(user) -> str:
    # The key allauth.mfa.base.internal.flows.check_rate_limit uses for its two-factor form.
    return f"mfa-auth-user-{user.pk}"


@contextmanager
def second_factor_attempt(request: HttpRequest, *, user, code: str):
    """Wrap the check of a two-factor code sent with a request: refused at once (TooManyLoginAttempts) when the
    account's limit is reached; a code the block refuses (raising a DomainError) counts as a failure. Only
    failures count, so a right code never uses up the limit nor clears failures counted before."""
    counted = bool(code.strip()) and Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    key = _second_factor_key(user)
    if counted and not ratelimit.consume(request, action="login_failed", key=key, dry_run=True):
        raise _refusal(get_adapter(request).validation_error(LIMIT_REACHED_CODE))
    try:
        yield
    except DomainError:
        if counted:
            ratelimit.consume(request, action="login_failed", key=key)
        raise
