"""allauth's hooks for this project (settings: ACCOUNT_ADAPTER)."""

from allauth import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied

from . import login_limits


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """The address failed logins are counted against: read as the throttles read it, and never a server error
        whatever X-Forwarded-For holds (login_limits.client_address)."""
        if allauth_settings.TRUSTED_CLIENT_IP_HEADER:
            return super().get_client_ip(request)
        address = login_limits.client_address(request)
        if address is None:  # as allauth: no REMOTE_ADDR either
            raise PermissionDenied("Unable to determine client IP address")
        return address
