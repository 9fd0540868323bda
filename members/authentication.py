from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import PersonalToken


class TokenExpired(exceptions.APIException):
    """401 with `WWW-Authenticate: Token` (DRF answers 403 for AuthenticationFailed when session authentication
    comes first in the list of authentication classes, as here)."""

    status_code = 401
    default_detail = gettext_lazy("This token has expired: ask for a new one.")
    default_code = "token_expired"
    auth_header = "Token"


class PersonalTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` with any of the person's named tokens, found by the key's digest.

    An expired token is refused (401). Its last use is written at most once a minute, by an UPDATE that
    finds nothing to do when another request wrote it first."""

    model = PersonalToken

    def authenticate_credentials(self, key):
        token = (
            PersonalToken.objects.select_related("user").filter(key_hash=PersonalToken.hash_key(key)).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        if token.is_expired(now):
            raise TokenExpired()
        stale = now - PersonalToken.LAST_USED_PRECISION
        if token.last_used_at is None or token.last_used_at < stale:
            PersonalToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk).update(
                last_used_at=now
            )
        return token.user, token
